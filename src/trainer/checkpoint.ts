// Per-epoch checkpoints: model weights, optimizer state, callback state, epoch, RNG state and
// history, so a killed run resumes at the next epoch as if it had never stopped. Written as
// checkpoint.json + a binary of float32 tensors; the JSON is renamed into place last, so a
// crash mid-write leaves the previous checkpoint intact.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { RandomState } from "./random";

/** What tfjs optimizers export as their state (not re-exported by @tensorflow/tfjs). */
export type NamedTensor = Awaited<ReturnType<tf.Optimizer["getWeights"]>>[number];

export const CHECKPOINT_VERSION = 1;

export interface CallbackState {
  lr: number;
  plateau: { best: number; wait: number };
  early: { best: number; wait: number; bestEpoch: number };
}

export interface CheckpointMeta<H> {
  version: number;
  /** Hash of the config the run trains; a checkpoint never resumes a different config. */
  configHash: string;
  /** Epochs completed. */
  epoch: number;
  callbacks: CallbackState;
  random: RandomState;
  history: H[];
  backend: string;
}

interface Stored<H> extends CheckpointMeta<H> {
  binary: string;
  tensors: {
    group: "model" | "optimizer" | "best";
    name: string;
    shape: number[];
    dtype: "float32" | "int32";
  }[];
}

export interface CheckpointTensors {
  model: tf.Tensor[];
  optimizer: NamedTensor[];
  /** Early stopping's best weights, when kept. */
  best: tf.Tensor[] | null;
}

const META = "checkpoint.json";

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
  const binary = `checkpoint-${meta.epoch}.bin`;
  await writeFile(path.join(dir, binary), Buffer.concat(chunks));
  const stored: Stored<H> = {
    ...meta,
    binary,
    tensors: entries.map((e) => ({
      group: e.group,
      name: e.name,
      shape: e.tensor.shape,
      dtype: e.tensor.dtype === "int32" ? "int32" : "float32",
    })),
  };
  const previous = existsSync(path.join(dir, META))
    ? (JSON.parse(await readFile(path.join(dir, META), "utf8")) as Stored<H>).binary
    : null;
  await writeFile(path.join(dir, `${META}.tmp`), JSON.stringify(stored));
  await rename(path.join(dir, `${META}.tmp`), path.join(dir, META));
  if (previous && previous !== binary) await rm(path.join(dir, previous), { force: true });
}

export async function readCheckpoint<H>(
  dir: string,
): Promise<{ meta: CheckpointMeta<H>; tensors: CheckpointTensors } | null> {
  const metaPath = path.join(dir, META);
  if (!existsSync(metaPath)) return null;
  const stored = JSON.parse(await readFile(metaPath, "utf8")) as Stored<H>;
  if (stored.version !== CHECKPOINT_VERSION)
    throw new Error(`${metaPath}: checkpoint version ${stored.version} is not ${CHECKPOINT_VERSION}`);
  const bytes = await readFile(path.join(dir, stored.binary));
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

/** The current checkpoint as one buffer (u32 length, checkpoint.json, binary), or null. */
export async function packCheckpoint(dir: string): Promise<Buffer | null> {
  const metaPath = path.join(dir, META);
  if (!existsSync(metaPath)) return null;
  const meta = await readFile(metaPath);
  const binary = await readFile(path.join(dir, (JSON.parse(meta.toString()) as { binary: string }).binary));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.length);
  return Buffer.concat([length, meta, binary]);
}

/** Writes a packed checkpoint into `dir`, where readCheckpoint finds it. */
export async function unpackCheckpoint(bytes: Buffer, dir: string): Promise<void> {
  const length = bytes.readUInt32LE(0);
  const meta = bytes.subarray(4, 4 + length);
  const { binary } = JSON.parse(meta.toString()) as { binary: string };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, binary), bytes.subarray(4 + length));
  await writeFile(path.join(dir, META), meta);
}
