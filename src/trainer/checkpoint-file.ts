// A checkpoint's files without its tensors: the metadata, and the packed form a worker
// uploads and downloads. Kept free of tfjs, so the worker's control thread can handle
// checkpoints while the training thread owns tfjs.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { RandomState } from "./random";

/** 2: the notebook's split, Keras' augmentation units, val_loss with L2 (version 1 trained otherwise). */
export const CHECKPOINT_VERSION = 2;
export const CHECKPOINT_META = "checkpoint.json";

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

export interface StoredCheckpoint<H> extends CheckpointMeta<H> {
  binary: string;
  tensors: {
    group: "model" | "optimizer" | "best";
    name: string;
    shape: number[];
    dtype: "float32" | "int32";
  }[];
}

const BINARY_NAME = /^checkpoint-\d{1,6}\.bin$/;

export const checkpointBinaryName = (epoch: number) => `checkpoint-${epoch}.bin`;

/**
 * Where a checkpoint's binary lives. The name comes from checkpoint.json, which may have been
 * uploaded by anyone with a write token: only the trainer's own pattern is accepted, and the
 * path must stay inside `dir`.
 */
export function checkpointBinaryPath(dir: string, binary: unknown): string {
  if (typeof binary !== "string" || !BINARY_NAME.test(binary))
    throw new Error(`checkpoint names its binary ${JSON.stringify(binary)}; expected checkpoint-<epoch>.bin`);
  const root = path.resolve(dir);
  const file = path.resolve(root, binary);
  if (path.dirname(file) !== root) throw new Error(`checkpoint binary ${binary} is outside ${dir}`);
  return file;
}

/** The metadata of the checkpoint in `dir` (epoch, history), or null when there is none. */
export async function readCheckpointMeta<H>(dir: string): Promise<StoredCheckpoint<H> | null> {
  const metaPath = path.join(dir, CHECKPOINT_META);
  if (!existsSync(metaPath)) return null;
  return JSON.parse(await readFile(metaPath, "utf8")) as StoredCheckpoint<H>;
}

/** The current checkpoint as one buffer (u32 length, checkpoint.json, binary), or null. */
export async function packCheckpoint(dir: string): Promise<Buffer | null> {
  const metaPath = path.join(dir, CHECKPOINT_META);
  if (!existsSync(metaPath)) return null;
  const meta = await readFile(metaPath);
  const { binary } = JSON.parse(meta.toString()) as { binary: unknown };
  const bytes = await readFile(checkpointBinaryPath(dir, binary));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(meta.length);
  return Buffer.concat([length, meta, bytes]);
}

/** Writes a packed checkpoint into `dir`, where readCheckpoint finds it; refuses a malformed one. */
export async function unpackCheckpoint(bytes: Buffer, dir: string): Promise<void> {
  if (bytes.length < 4) throw new Error("packed checkpoint is truncated");
  const length = bytes.readUInt32LE(0);
  if (length > bytes.length - 4) throw new Error("packed checkpoint is truncated");
  const meta = bytes.subarray(4, 4 + length);
  let binary: unknown;
  try {
    binary = (JSON.parse(meta.toString()) as { binary?: unknown }).binary;
  } catch {
    throw new Error("packed checkpoint's metadata is not JSON");
  }
  const file = checkpointBinaryPath(dir, binary);
  await mkdir(dir, { recursive: true });
  await writeFile(file, bytes.subarray(4 + length));
  await writeFile(path.join(dir, `${CHECKPOINT_META}.tmp`), meta);
  await rename(path.join(dir, `${CHECKPOINT_META}.tmp`), path.join(dir, CHECKPOINT_META));
}
