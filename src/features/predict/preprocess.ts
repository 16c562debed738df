// One preprocessing for the server and the browser, so both give the same answer: any-size RGBA
// pixels → 32×32 RGB (box-filtered halvings, then bilinear, so large photos do not alias) →
// the training run's normalisation.
import type * as tf from "@tensorflow/tfjs";

export const INPUT_SIZE = 32;
/** The largest upload the server accepts; the browser checks it before sending. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

export interface Rgba {
  width: number;
  height: number;
  /** width × height × 4 bytes, row-major. */
  data: Uint8Array | Uint8ClampedArray;
}

export interface Normalization {
  scale: number[];
  offset: number[];
}

export interface LabbookModelMetadata {
  normalizer: Normalization & { kind: string };
  classNames: string[];
}

/** The normalisation and class names the trainer stored in model.json; throws when absent. */
export function readModelMetadata(model: tf.LayersModel): LabbookModelMetadata {
  const meta = (model.getUserDefinedMetadata() as { labbook?: LabbookModelMetadata } | undefined)?.labbook;
  if (!meta?.normalizer || !meta.classNames)
    throw new Error(
      "this model has no Labbook metadata (normalisation and class names); retrain it with this version",
    );
  return meta;
}

/** 32×32 RGB values in 0–255, before normalisation: box-filtered halvings, then bilinear. */
export function toInputPixels(tfjs: typeof tf, image: Rgba): tf.Tensor4D {
  return tfjs.tidy(() => {
    const rgba = tfjs.tensor3d(Uint8Array.from(image.data), [image.height, image.width, 4], "int32");
    let x = rgba.slice([0, 0, 0], [image.height, image.width, 3]).toFloat().expandDims(0) as tf.Tensor4D;
    while (x.shape[1] >= 2 * INPUT_SIZE && x.shape[2] >= 2 * INPUT_SIZE) x = tfjs.avgPool(x, 2, 2, "valid");
    return tfjs.image.resizeBilinear(x, [INPUT_SIZE, INPUT_SIZE], false, true);
  });
}

export function normalizeInput(
  tfjs: typeof tf,
  pixels: tf.Tensor4D,
  normalization: Normalization,
): tf.Tensor4D {
  return tfjs.tidy(
    () =>
      pixels.mul(tfjs.tensor1d(normalization.scale)).add(tfjs.tensor1d(normalization.offset)) as tf.Tensor4D,
  );
}

export function toModelInput(tfjs: typeof tf, image: Rgba, normalization: Normalization): tf.Tensor4D {
  return tfjs.tidy(() => normalizeInput(tfjs, toInputPixels(tfjs, image), normalization));
}

export interface Prediction {
  class: number;
  label: string;
  probability: number;
}

/** Every class with its probability, most likely first. */
export function ranked(probabilities: ArrayLike<number>, classNames: readonly string[]): Prediction[] {
  return Array.from(probabilities, (probability, i) => ({
    class: i,
    label: classNames[i] ?? String(i),
    probability,
  })).sort((a, b) => b.probability - a.probability);
}
