// Small synthetic datasets in the official CIFAR-10 binary format, for unit tests.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { RECORD_BYTES, TEST_FILE, TRAIN_FILES } from "@/trainer/data/cifar10-format";

/** Record i of a file: label i % 10, R/G/B planes filled with values derived from (file, i, channel, pixel). */
export function syntheticBatch(records: number, fileIndex: number): Buffer {
  const bytes = Buffer.alloc(records * RECORD_BYTES);
  for (let i = 0; i < records; i++) {
    const base = i * RECORD_BYTES;
    const label = i % 10;
    bytes[base] = label;
    for (let channel = 0; channel < 3; channel++) {
      for (let p = 0; p < 1024; p++) {
        // Class-dependent brightness so a model can learn something; the rest varies by pixel.
        bytes[base + 1 + channel * 1024 + p] =
          (label * 20 + channel * 7 + ((p * 31 + i * 17 + fileIndex * 5) % 50)) % 256;
      }
    }
  }
  return bytes;
}

export function writeSyntheticCifar(recordsPerFile: number, dir?: string): string {
  const target = dir ?? mkdtempSync(path.join(tmpdir(), "labbook-cifar-"));
  mkdirSync(target, { recursive: true });
  chmodSync(target, 0o755);
  [...TRAIN_FILES, TEST_FILE].forEach((file, k) => {
    writeFileSync(path.join(target, file), syntheticBatch(recordsPerFile, k));
  });
  return target;
}
