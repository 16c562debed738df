// Saves and loads models in the tfjs layers format (model.json + one weights file) on disk,
// without tfjs-node's file:// handler, which the wasm and cpu backends lack.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CLASS_NAMES } from "../data/cifar10-format";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

/** The model as the two files of the tfjs format, in memory. */
/**
 * What a consumer of the saved model needs besides the weights: how to normalise pixels and
 * the class names. Kept in model.json's userDefinedMetadata, so the model file is enough.
 */
export interface ModelMetadata {
  normalizer: { kind: string; scale: number[]; offset: number[] };
  classNames: readonly string[];
  /** The training epoch whose weights these are. */
  epoch?: number;
}

export function modelMetadata(normalizer: ModelMetadata["normalizer"], epoch?: number): ModelMetadata {
  return {
    normalizer: { kind: normalizer.kind, scale: [...normalizer.scale], offset: [...normalizer.offset] },
    classNames: CLASS_NAMES,
    ...(epoch ? { epoch } : {}),
  };
}

export async function serializeModel(
  model: tf.LayersModel,
  metadata?: ModelMetadata,
): Promise<{ modelJson: Buffer; weights: Buffer }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  if (!artifacts?.weightData || !artifacts.weightSpecs)
    throw new Error("the model produced no weights to save");
  const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: "layers-model",
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs }],
    ...(metadata ? { userDefinedMetadata: { labbook: metadata } } : {}),
  };
  return { modelJson: Buffer.from(JSON.stringify(modelJson)), weights: Buffer.from(weightData) };
}

/** Writes model.json and weights.bin into `dir`, each atomically. */
export async function saveModel(model: tf.LayersModel, dir: string, metadata?: ModelMetadata): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { modelJson, weights } = await serializeModel(model, metadata);
  for (const [name, bytes] of [
    [WEIGHTS_BIN, weights],
    [MODEL_JSON, modelJson],
  ] as const) {
    await writeFile(path.join(dir, `${name}.tmp`), bytes);
    await rename(path.join(dir, `${name}.tmp`), path.join(dir, name));
  }
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return modelFromBytes(
    await readFile(path.join(dir, MODEL_JSON)),
    await readFile(path.join(dir, WEIGHTS_BIN)),
  );
}

/** A model from model.json's and weights.bin's bytes (files, or artifacts from the database). */
export function modelFromBytes(modelJson: Uint8Array, weights: Uint8Array): Promise<tf.LayersModel> {
  const json = JSON.parse(Buffer.from(modelJson).toString("utf8")) as tf.io.ModelJSON;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(
        weights.byteOffset,
        weights.byteOffset + weights.byteLength,
      ) as ArrayBuffer,
      userDefinedMetadata: json.userDefinedMetadata,
    }),
  );
}
