import { crc32, deflateSync } from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { PNG } from "pngjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ranked, toModelInput } from "@/features/predict/preprocess";
import { decodeImage, type ImageInputError } from "@/server/predict/decode";

beforeAll(() => tf.setBackend("cpu"));

function rgba(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]) {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      data.set([...pixel(x, y), 255], (y * width + x) * 4);
    }
  return { width, height, data };
}

describe("prediction preprocessing", () => {
  it("resizes any size to 32×32 RGB and applies the run's normalisation", async () => {
    const image = rgba(300, 200, () => [255, 0, 51]);
    const input = toModelInput(tf, image, { scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0] });
    expect(input.shape).toEqual([1, 32, 32, 3]);
    const values = await input.data();
    expect(values[0]).toBeCloseTo(1, 5);
    expect(values[1]).toBeCloseTo(0, 5);
    expect(values[2]).toBeCloseTo(0.2, 5);
    input.dispose();
  });

  it("averages a fine pattern instead of aliasing it when shrinking a large image", async () => {
    // One-pixel black/white stripes: a 256-wide image averages to mid-grey.
    const image = rgba(256, 256, (x) => (x % 2 ? [255, 255, 255] : [0, 0, 0]));
    const input = toModelInput(tf, image, { scale: [1, 1, 1], offset: [0, 0, 0] });
    const values = Array.from(await input.data());
    expect(Math.min(...values)).toBeGreaterThan(120);
    expect(Math.max(...values)).toBeLessThan(135);
    input.dispose();
  });

  it("ranks classes by probability", () => {
    expect(ranked([0.1, 0.7, 0.2], ["a", "b", "c"]).map((p) => p.label)).toEqual(["b", "c", "a"]);
  });
});

describe("upload checks", () => {
  it("decodes a PNG and refuses non-images, empty and oversized files with a clear error", async () => {
    const png = new PNG({ width: 3, height: 2 });
    png.data.fill(200);
    expect(await decodeImage(PNG.sync.write(png))).toMatchObject({ width: 3, height: 2 });
    const refuse = async (bytes: Buffer) => {
      try {
        await decodeImage(bytes);
      } catch (error) {
        return [(error as ImageInputError).status, (error as Error).message];
      }
      throw new Error("accepted");
    };
    expect(await refuse(Buffer.from("just some text"))).toEqual([
      415,
      "the file is not an image: upload a PNG or JPEG",
    ]);
    expect(await refuse(Buffer.alloc(0))).toEqual([400, "the upload is empty"]);
    expect(await refuse(Buffer.alloc(11 * 1024 * 1024))).toEqual([413, "images are limited to 10 MiB"]);
    const truncated = PNG.sync.write(png).subarray(0, 40);
    expect((await refuse(truncated))[0]).toBe(400);
    // A header that claims a huge image is refused before decoding.
    const huge = Buffer.from(PNG.sync.write(png));
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(await refuse(huge)).toEqual([413, "the image is 100000×100000; at most 24 megapixels"]);
    // An interlaced PNG that declares 1×1 but whose data inflates to 50 MB (a 51 KB file).
    const chunk = (type: string, data: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(data.length, 0);
      head.write(type, 4, "latin1");
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, "latin1"), data])) >>> 0);
      return Buffer.concat([head, data, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(1, 0);
    ihdr.writeUInt32BE(1, 4);
    ihdr.set([8, 6, 0, 0, 1], 8); // 8-bit RGBA, interlaced
    const bomb = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", ihdr),
      chunk("IDAT", deflateSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 })),
      chunk("IEND", Buffer.alloc(0)),
    ]);
    expect(bomb.length).toBeLessThan(100_000);
    const before = process.memoryUsage().arrayBuffers;
    expect(await refuse(bomb)).toEqual([413, "the PNG's data inflates to more than its 1×1 size needs"]);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(10 * 1024 * 1024);
  });
});
