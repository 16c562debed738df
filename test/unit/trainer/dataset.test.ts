import { rmSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkCifar10, decodeRecords, loadCifar10 } from "@/trainer/data/cifar10";
import { BATCH_BYTES, RECORD_BYTES } from "@/trainer/data/cifar10-format";
import { DatasetError } from "@/trainer/data/dataset-error";
import { syntheticBatch, writeSyntheticCifar } from "../../helpers/synthetic-cifar";

const dirs: string[] = [];
const fresh = (records = 20) => {
  const dir = writeSyntheticCifar(records);
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("CIFAR-10 binary format", () => {
  it("decodes a record's R, G and B planes into interleaved HWC pixels", () => {
    const record = Buffer.alloc(RECORD_BYTES);
    record[0] = 7;
    record[1] = 11; // R of pixel 0
    record[1 + 1024] = 22; // G of pixel 0
    record[1 + 2048] = 33; // B of pixel 0
    record[1 + 1023] = 44; // R of the last pixel (row 31, column 31)
    const { images, labels, count } = decodeRecords("x.bin", record);
    expect(count).toBe(1);
    expect(labels[0]).toBe(7);
    expect(Array.from(images.subarray(0, 3))).toEqual([11, 22, 33]);
    expect(images[1023 * 3]).toBe(44);
  });

  it("loads every file of a set in the official format", async () => {
    const data = await loadCifar10(fresh(30), { expect: "format" });
    expect(data.train.count).toBe(150);
    expect(data.test.count).toBe(30);
    expect(Array.from(data.train.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });

  it("names a missing file", async () => {
    const dir = fresh();
    rmSync(path.join(dir, "data_batch_3.bin"));
    await expect(loadCifar10(dir, { expect: "format" })).rejects.toThrow(/^data_batch_3\.bin: missing from/);
  });

  it("names a truncated file and says what is wrong, never a tensor-shape error", async () => {
    const dir = fresh();
    truncateSync(path.join(dir, "test_batch.bin"), RECORD_BYTES * 3 - 100);
    const error = await loadCifar10(dir, { expect: "format" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).message).toMatch(
      /^test_batch\.bin: .* not a whole number of 3073-byte records \(truncated\?\)/,
    );
  });

  it("names a file whose labels are out of range", async () => {
    const dir = fresh();
    const bytes = syntheticBatch(20, 0);
    bytes[RECORD_BYTES * 4] = 12;
    writeFileSync(path.join(dir, "data_batch_1.bin"), bytes);
    await expect(loadCifar10(dir, { expect: "format" })).rejects.toThrow(
      "data_batch_1.bin: record 4 has label 12; labels are 0–9",
    );
  });

  it("requires the official bytes unless told otherwise: size first, then sha256", async () => {
    const dir = fresh();
    await expect(checkCifar10(dir)).rejects.toThrow(
      /^data_batch_1\.bin: truncated or padded: 61460 bytes, expected 30730000/,
    );
    writeFileSync(path.join(dir, "data_batch_1.bin"), Buffer.alloc(BATCH_BYTES));
    await expect(checkCifar10(dir)).rejects.toThrow(
      /^data_batch_1\.bin: corrupt: sha256 [0-9a-f]{64} is not the official cee91656/,
    );
  });
});
