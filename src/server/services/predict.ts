// Server-side prediction with a registered model: the upload is checked (type, size, pixel
// count) and decoded, preprocessed like the browser does it, and classified on tfjs' cpu
// backend. Loaded models are cached by version.

import { inflateSync } from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import {
  MAX_UPLOAD_BYTES,
  type Rgba,
  ranked,
  readModelMetadata,
  toModelInput,
} from "@/features/predict/preprocess";
import type { Db } from "@/server/db/client";
import { readArtifact } from "./artifacts";

/** A 24-megapixel photo decodes to about 100 MB of RGBA; past that, refuse. */
export const MAX_PIXELS = 24_000_000;

export class ImageInputError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

function sniff(bytes: Buffer): "png" | "jpeg" | null {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return null;
}

const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * pngjs inflates the whole image data before it looks at the size, so a 51 KB file that
 * declares 1×1 can inflate to 50 MB. Inflate it once here, capped at what the header's size
 * can need (with interlacing's extra filter bytes), and refuse anything larger.
 */
function checkPngInflation(bytes: Buffer, width: number, height: number): void {
  const bitDepth = bytes[24] ?? 8;
  const channels = PNG_CHANNELS[bytes[25] ?? 6] ?? 4;
  const rowBytes = Math.ceil((width * channels * bitDepth) / 8);
  const bound = height * (rowBytes + 1) + 7 * (height + 8) + 64;
  const data: Buffer[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("latin1", at + 4, at + 8);
    if (type === "IDAT") data.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === "IEND") break;
    at += 12 + length;
  }
  try {
    inflateSync(Buffer.concat(data), { maxOutputLength: bound });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE")
      throw new ImageInputError(
        413,
        `the PNG's data inflates to more than its ${width}×${height} size needs`,
      );
    throw error;
  }
}

export function decodeImage(bytes: Buffer): Rgba {
  if (bytes.length === 0) throw new ImageInputError(400, "the upload is empty");
  if (bytes.length > MAX_UPLOAD_BYTES)
    throw new ImageInputError(413, `images are limited to ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB`);
  const type = sniff(bytes);
  if (!type) throw new ImageInputError(415, "the file is not an image: upload a PNG or JPEG");
  try {
    if (type === "png") {
      // The header's size first: a small file can declare a huge image.
      const width = bytes.readUInt32BE(16);
      const height = bytes.readUInt32BE(20);
      if (width * height > MAX_PIXELS)
        throw new ImageInputError(
          413,
          `the image is ${width}×${height}; at most ${MAX_PIXELS / 1e6} megapixels`,
        );
      checkPngInflation(bytes, width, height);
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    const image = jpeg.decode(bytes, {
      useTArray: true,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB: 512,
    });
    return { width: image.width, height: image.height, data: image.data };
  } catch (error) {
    if (error instanceof ImageInputError) throw error;
    throw new ImageInputError(
      400,
      `the ${type.toUpperCase()} image could not be decoded: ${(error as Error).message}`,
    );
  }
}

const loaded = new Map<number, Promise<tf.LayersModel>>();
const CACHE_SIZE = 4;

async function loadVersion(db: Db, version: { id: number; runId: number }): Promise<tf.LayersModel> {
  let model = loaded.get(version.id);
  if (!model) {
    model = (async () => {
      await tf.setBackend("cpu");
      const [json, weights] = await Promise.all([
        readArtifact(db, version.runId, "model.json"),
        readArtifact(db, version.runId, "weights.bin"),
      ]);
      if (!json || !weights) throw new Error(`run ${version.runId} lacks model.json or weights.bin`);
      const spec = JSON.parse(Buffer.from(json.data).toString("utf8")) as tf.io.ModelJSON;
      const data = new Uint8Array(weights.data);
      return tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: spec.modelTopology,
          weightSpecs: spec.weightsManifest.flatMap((group) => group.weights),
          weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
          userDefinedMetadata: spec.userDefinedMetadata,
        }),
      );
    })();
    model.catch(() => loaded.delete(version.id));
    loaded.set(version.id, model);
    if (loaded.size > CACHE_SIZE) {
      const [oldest] = loaded.keys();
      if (oldest !== undefined && oldest !== version.id) {
        void loaded.get(oldest)?.then((m) => m.dispose());
        loaded.delete(oldest);
      }
    }
  }
  return model;
}

export async function predictImage(db: Db, version: { id: number; runId: number }, image: Rgba) {
  const model = await loadVersion(db, version);
  const meta = readModelMetadata(model);
  const started = performance.now();
  const input = toModelInput(tf, image, meta.normalizer);
  const output = model.predict(input) as tf.Tensor;
  const probabilities = await output.data();
  tf.dispose([input, output]);
  return { predictions: ranked(probabilities, meta.classNames), ms: performance.now() - started };
}
