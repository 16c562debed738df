// A registered model's forward pass: models built from their artifacts' bytes and kept for a
// few versions; images preprocessed exactly as the browser does (features/predict/preprocess).
import * as tf from "@tensorflow/tfjs";
import {
  INPUT_SIZE,
  normalizeInput,
  type Rgba,
  ranked,
  readModelMetadata,
  toModelInput,
} from "@/features/predict/preprocess";
import { modelFromBytes } from "@/trainer/model/io";

export interface ModelBytes {
  json: Uint8Array;
  weights: Uint8Array;
}

const CACHE_SIZE = 4;
const loaded = new Map<number, tf.LayersModel>();

export function cachedVersions(): number[] {
  return [...loaded.keys()];
}

export async function loadVersion(versionId: number, bytes: ModelBytes): Promise<void> {
  if (loaded.has(versionId)) return;
  const model = await modelFromBytes(bytes.json, bytes.weights);
  loaded.set(versionId, model);
  for (const [id, old] of loaded) {
    if (loaded.size <= CACHE_SIZE) break;
    if (id === versionId) continue;
    old.dispose();
    loaded.delete(id);
  }
}

function loadedModel(versionId: number): tf.LayersModel {
  const model = loaded.get(versionId);
  if (!model) throw new Error(`model version ${versionId} is not loaded`);
  return model;
}

export async function classify(versionId: number, image: Rgba) {
  const model = loadedModel(versionId);
  const meta = readModelMetadata(model);
  const started = performance.now();
  const input = toModelInput(tf, image, meta.normalizer);
  // One image as one batch, without predict's slicing into batches (about 1 ms of 6).
  const output = model.predict(input, { batchSize: 1 }) as tf.Tensor;
  const probabilities = await output.data();
  tf.dispose([input, output]);
  return { predictions: ranked(probabilities, meta.classNames), ms: performance.now() - started };
}

/**
 * Class probabilities, row-major [count, classes], for `count` images already made into the
 * model's 32×32 input (toInputPixels), as one batch.
 */
export async function classifyPixels(versionId: number, pixels: Float32Array, count: number) {
  const model = loadedModel(versionId);
  const meta = readModelMetadata(model);
  const input = tf.tidy(() =>
    normalizeInput(tf, tf.tensor4d(pixels, [count, INPUT_SIZE, INPUT_SIZE, 3]), meta.normalizer),
  );
  // As one batch: predict would otherwise split it into batches of 32.
  const output = model.predict(input, { batchSize: Math.max(1, count) }) as tf.Tensor;
  const probabilities = (await output.data()) as Float32Array;
  tf.dispose([input, output]);
  return { probabilities, classNames: meta.classNames };
}
