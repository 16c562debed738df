// An evaluation set's image, prepared once: decoded as predict decodes it, made into the
// model's 32×32 input before normalisation (the same function predict uses), and a small JPEG
// for the dashboard.
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { toInputPixels } from "@/features/predict/preprocess";
import { decodeImage } from "./decode";

const THUMBNAIL_SIZE = 128;

export interface PreparedImage {
  /** 32×32×3 float32 values in 0–255. */
  pixels: Float32Array;
  /** JPEG, at most 128 px on its long side. */
  thumbnail: Uint8Array;
}

export async function prepareImage(bytes: Buffer): Promise<PreparedImage> {
  const image = await decodeImage(bytes);
  const input = toInputPixels(tf, image);
  const pixels = (await input.data()) as Float32Array;
  input.dispose();
  const thumbnail = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 4 },
  })
    .removeAlpha()
    .resize({ width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE, fit: "inside", withoutEnlargement: true })
    .jpeg({ quality: 82 })
    .toBuffer();
  return { pixels, thumbnail: new Uint8Array(thumbnail) };
}
