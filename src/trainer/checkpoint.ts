// Per-epoch checkpoints: model weights, optimizer state, callback state, epoch, RNG state and
// history, so a killed run resumes at the next epoch as if it had never stopped. Written as
// checkpoint.json + a binary of float32 tensors; the JSON is renamed into place last, so a
// crash mid-write leaves the previous checkpoint intact.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  CHECKPOINT_META,
  CHECKPOINT_VERSION,
  type CheckpointMeta,
  checkpointBinaryName,
  checkpointBinaryPath,
  type StoredCheckpoint,
} from "./checkpoint-file";

export type { CallbackState, CheckpointMeta } from "./checkpoint-file";

/** What tfjs optimizers export as their state (not re-exported by @tensorflow/tfjs). */
export type NamedTensor = Awaited<ReturnType<tf.Optimizer["getWeights"]>>[number];

export interface CheckpointTensors {
  model: tf.Tensor[];
  optimizer: NamedTensor[];
  /** Early stopping's best weights, when kept. */
  best: tf.Tensor[] | null;
}

export async function writeCheckpoint<H>(
  dir: string,
  meta: CheckpointMeta<H>,
  tensors: CheckpointTensors,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const entries = [
    ...tensors.model.map((t, i) => ({ group: "model" as const, name: String(i), tensor: t })),
    ...tensors.optimizer.map((t) => ({ group: "optimizer" as const, name: t.name, tensor: t.tensor })),
    ...(tensors.best ?? []).map((t, i) => ({ group: "best" as const, name: String(i), tensor: t })),
  ];
  const chunks = await Promise.all(entries.map(async (e) => Buffer.from((await e.tensor.data()).buffer)));
  const binary = checkpointBinaryName(meta.epoch);
  await writeFile(checkpointBinaryPath(dir, binary), Buffer.concat(chunks));
  const stored: StoredCheckpoint<H> = {
    ...meta,
    binary,
    tensors: entries.map((e) => ({
      group: e.group,
      name: e.name,
      shape: e.tensor.shape,
      dtype: e.tensor.dtype === "int32" ? "int32" : "float32",
    })),
  };
  const previous = existsSync(path.join(dir, CHECKPOINT_META))
    ? (JSON.parse(await readFile(path.join(dir, CHECKPOINT_META), "utf8")) as StoredCheckpoint<H>).binary
    : null;
  await writeFile(path.join(dir, `${CHECKPOINT_META}.tmp`), JSON.stringify(stored));
  await rename(path.join(dir, `${CHECKPOINT_META}.tmp`), path.join(dir, CHECKPOINT_META));
  if (previous && previous !== binary) await rm(checkpointBinaryPath(dir, previous), { force: true });
}

export async function readCheckpoint<H>(
  dir: string,
): Promise<{ meta: CheckpointMeta<H>; tensors: CheckpointTensors } | null> {
  const metaPath = path.join(dir, CHECKPOINT_META);
  if (!existsSync(metaPath)) return null;
  const stored = JSON.parse(await readFile(metaPath, "utf8")) as StoredCheckpoint<H>;
  if (stored.version !== CHECKPOINT_VERSION)
    throw new Error(`${metaPath}: checkpoint version ${stored.version} is not ${CHECKPOINT_VERSION}`);
  const bytes = await readFile(checkpointBinaryPath(dir, stored.binary));
  const tensors: CheckpointTensors = { model: [], optimizer: [], best: null };
  let offset = 0;
  for (const spec of stored.tensors) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const view = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + size * 4);
    offset += size * 4;
    const values = spec.dtype === "int32" ? new Int32Array(view) : new Float32Array(view);
    const tensor = tf.tensor(values, spec.shape, spec.dtype);
    if (spec.group === "model") tensors.model.push(tensor);
    else if (spec.group === "optimizer") tensors.optimizer.push({ name: spec.name, tensor });
    else {
      tensors.best ??= [];
      tensors.best.push(tensor);
    }
  }
  if (offset !== bytes.length)
    throw new Error(`${stored.binary}: ${bytes.length} bytes, expected ${offset} (truncated?)`);
  const { binary: _binary, tensors: _specs, ...meta } = stored;
  return { meta, tensors };
}
