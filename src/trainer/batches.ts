// Builds normalised (and optionally augmented) input batches from byte images.
import * as tf from "@tensorflow/tfjs";
import { augmentArray } from "./backend/native-augment";
import {
  type AugmentationParams,
  augmentBatch,
  type BatchTransforms,
  nativeAugmentation,
} from "./data/augment";
import type { ImageSet } from "./data/cifar10";
import { CLASS_NAMES, IMAGE_SIZE, PIXELS } from "./data/cifar10-format";
import type { Normalizer } from "./data/prepare";

function gather(
  set: ImageSet,
  indices: ArrayLike<number>,
  scale: readonly number[],
  offset: readonly number[],
): Float32Array {
  const out = new Float32Array(indices.length * PIXELS);
  // Constants and the image's own view in locals: V8 re-read them every pixel (3-4× slower, on
  // the training thread's critical path).
  const [s0, s1, s2] = scale as [number, number, number];
  const [o0, o1, o2] = offset as [number, number, number];
  for (let i = 0; i < indices.length; i++) {
    const from = (indices[i] as number) * PIXELS;
    const image = set.images.subarray(from, from + PIXELS);
    const to = i * PIXELS;
    for (let p = 0; p < PIXELS; p += 3) {
      out[to + p] = (image[p] as number) * s0 + o0;
      out[to + p + 1] = (image[p + 1] as number) * s1 + o1;
      out[to + p + 2] = (image[p + 2] as number) * s2 + o2;
    }
  }
  return out;
}

const CLASSES = CLASS_NAMES.length;

const shape = (n: number): [number, number, number, number] => [n, IMAGE_SIZE, IMAGE_SIZE, 3];

/** Normalised [n, 32, 32, 3] images. */
export function batchTensor(set: ImageSet, indices: ArrayLike<number>, normalizer: Normalizer): tf.Tensor4D {
  return tf.tensor4d(gather(set, indices, normalizer.scale, normalizer.offset), shape(indices.length));
}

/** Normalised, then augmented in the normalised units, as the notebook's generator did. */
export function augmentedBatchTensor(
  set: ImageSet,
  indices: ArrayLike<number>,
  normalizer: Normalizer,
  transforms: BatchTransforms,
  params: AugmentationParams,
): tf.Tensor4D {
  return tf.tidy(() => augmentBatch(batchTensor(set, indices, normalizer), transforms, params));
}

/**
 * The same as a plain array, through the native kernel (hasNativeAugment): the native training
 * step's batches, which never become tensors.
 */
export function augmentedBatchArray(
  set: ImageSet,
  indices: ArrayLike<number>,
  normalizer: Normalizer,
  transforms: BatchTransforms,
  params: AugmentationParams,
): Float32Array {
  return augmentArray(
    gather(set, indices, normalizer.scale, normalizer.offset),
    shape(indices.length),
    nativeAugmentation(transforms, params),
  );
}

/** Normalised [n, 32, 32, 3] images as a plain array. */
export const batchArray = (set: ImageSet, indices: ArrayLike<number>, normalizer: Normalizer) =>
  gather(set, indices, normalizer.scale, normalizer.offset);

/** One-hot [n, 10] labels as a plain array. */
export function oneHotArray(set: ImageSet, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * CLASSES);
  for (let i = 0; i < indices.length; i++) {
    const label = set.labels[indices[i] as number] as number;
    // Out of range, it would mark another image's row.
    if (!(label < CLASSES)) throw new Error(`label ${label} of image ${indices[i]} is not a class`);
    out[i * CLASSES + label] = 1;
  }
  return out;
}

export const oneHotLabels = (set: ImageSet, indices: ArrayLike<number>): tf.Tensor2D =>
  tf.tensor2d(oneHotArray(set, indices), [indices.length, CLASSES]);
