// Single CIFAR-10 images as PNG, read straight from the dataset's binary batch (one record,
// no full load), for the misclassified-images grid.
import { open } from "node:fs/promises";
import path from "node:path";
import { PNG } from "pngjs";
import { defaultDataDir, IMAGE_SIZE, RECORD_BYTES, TEST_FILE } from "@/trainer/data/cifar10-format";

export class DatasetImageError extends Error {
  constructor(
    readonly status: 404 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** The test image at `index` as a PNG, upscaled `scale`× with nearest neighbours. */
export async function testImagePng(index: number, scale = 1): Promise<Buffer> {
  const file = path.join(defaultDataDir(), TEST_FILE);
  const handle = await open(file, "r").catch(() => {
    // The server's path stays in its log: a reader needs only what to do.
    console.error(`dataset image: cannot open ${file}`);
    throw new DatasetImageError(503, "the dataset is not on this server; an admin runs: labbook data fetch");
  });
  try {
    const { size } = await handle.stat();
    if (index >= Math.floor(size / RECORD_BYTES))
      throw new DatasetImageError(
        404,
        `the test set has ${Math.floor(size / RECORD_BYTES)} images; ${index} is out of range`,
      );
    const record = Buffer.alloc(RECORD_BYTES);
    await handle.read(record, 0, RECORD_BYTES, index * RECORD_BYTES);
    const side = IMAGE_SIZE * scale;
    const png = new PNG({ width: side, height: side });
    const plane = IMAGE_SIZE * IMAGE_SIZE;
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const p = Math.floor(y / scale) * IMAGE_SIZE + Math.floor(x / scale);
        const out = (y * side + x) * 4;
        for (let c = 0; c < 3; c++) png.data[out + c] = record[1 + c * plane + p] as number;
        png.data[out + 3] = 255;
      }
    return PNG.sync.write(png);
  } finally {
    await handle.close();
  }
}
