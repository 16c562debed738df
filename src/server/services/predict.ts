// Server-side prediction with a registered model: the upload is checked (type, size, pixel
// count) and decoded, preprocessed like the browser does it, and classified on tfjs' cpu
// backend. Loaded models are cached by version.
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

const MAX_PIXELS = 40_000_000;

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
