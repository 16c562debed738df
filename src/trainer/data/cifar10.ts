// Reads and checks CIFAR-10 in the official binary format.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import {
  BATCH_BYTES,
  DATA_FILES,
  IMAGE_SIZE,
  OFFICIAL_SHA256,
  PIXELS,
  RECORD_BYTES,
  TEST_FILE,
  TRAIN_FILES,
} from "./cifar10-format";
import { DatasetError } from "./dataset-error";

/** Images as HWC bytes (the layout tfjs wants), one label byte each. */
export interface ImageSet {
  count: number;
  images: Uint8Array;
  labels: Uint8Array;
}

export interface Cifar10 {
  train: ImageSet;
  test: ImageSet;
}

export interface CheckOptions {
  /**
   * "official" (default) requires the six official files, byte for byte. "format" accepts any
   * files in the official format (small synthetic sets for tests).
   */
  expect?: "official" | "format";
}

async function readBatch(dir: string, file: string, expect: "official" | "format"): Promise<Buffer> {
  const filePath = path.join(dir, file);
  const info = await stat(filePath).catch(() => null);
  if (!info?.isFile()) throw new DatasetError(file, `missing from ${dir} (run: labbook data fetch)`);
  if (expect === "official" && info.size !== BATCH_BYTES) {
    throw new DatasetError(file, `truncated or padded: ${info.size} bytes, expected ${BATCH_BYTES}`);
  }
  if (info.size === 0 || info.size % RECORD_BYTES !== 0) {
    throw new DatasetError(
      file,
      `${info.size} bytes is not a whole number of ${RECORD_BYTES}-byte records (truncated?)`,
    );
  }
  const bytes = await readFile(filePath);
  if (expect === "official") {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const wanted = OFFICIAL_SHA256[file as keyof typeof OFFICIAL_SHA256];
    if (sha256 !== wanted)
      throw new DatasetError(file, `corrupt: sha256 ${sha256} is not the official ${wanted}`);
  }
  return bytes;
}

/** Converts official records (label, R plane, G plane, B plane) into HWC images and labels. */
export function decodeRecords(file: string, bytes: Uint8Array): ImageSet {
  const count = bytes.length / RECORD_BYTES;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  for (let i = 0; i < count; i++) {
    const record = i * RECORD_BYTES;
    const label = bytes[record] as number;
    if (label > 9) throw new DatasetError(file, `record ${i} has label ${label}; labels are 0–9`);
    labels[i] = label;
    const out = i * PIXELS;
    for (let p = 0; p < plane; p++) {
      images[out + p * 3] = bytes[record + 1 + p] as number;
      images[out + p * 3 + 1] = bytes[record + 1 + plane + p] as number;
      images[out + p * 3 + 2] = bytes[record + 1 + 2 * plane + p] as number;
    }
  }
  return { count, images, labels };
}

function concat(sets: ImageSet[]): ImageSet {
  const count = sets.reduce((n, s) => n + s.count, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let offset = 0;
  for (const set of sets) {
    images.set(set.images, offset * PIXELS);
    labels.set(set.labels, offset);
    offset += set.count;
  }
  return { count, images, labels };
}

/** Checks every file and throws a DatasetError naming the first bad one. */
export async function checkCifar10(dir: string, options: CheckOptions = {}): Promise<void> {
  for (const file of DATA_FILES) await readBatch(dir, file, options.expect ?? "official");
}

export async function loadCifar10(dir: string, options: CheckOptions = {}): Promise<Cifar10> {
  const expect = options.expect ?? "official";
  const train: ImageSet[] = [];
  for (const file of TRAIN_FILES) train.push(decodeRecords(file, await readBatch(dir, file, expect)));
  const test = decodeRecords(TEST_FILE, await readBatch(dir, TEST_FILE, expect));
  return { train: concat(train), test };
}
