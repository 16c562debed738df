// Training-time augmentation as one kernel of Labbook's addon on the wasm backend: each image's
// projective transform, channel shift and brightness in one pass on the addon's threads. tfjs'
// path (data/augment.ts) is a Transform and about fifteen small kernels, all on wasm's one
// thread: about 9 ms of every batch of 64.
import * as tf from "@tensorflow/tfjs";
import type { NativeKernels } from "./native-module";
import { type KernelFunc, replaceKernel, type TensorInfo } from "./wasm-kernels";

const AUGMENT = "LabbookAugment";
const FILL_MODES = ["constant", "reflect", "wrap", "nearest"] as const;

/** Whether the active backend has the kernel (wasm with one of Labbook's addons). */
export const hasNativeAugment = () => tf.getKernel(AUGMENT, tf.getBackend()) !== undefined;

export interface NativeAugmentation {
  /** [n, 8] transforms from output to input pixels, as tf.image.transform takes them. */
  matrices: Float32Array;
  fillMode: (typeof FILL_MODES)[number];
  /** Per image, or null for none. */
  channelShift: Float32Array | null;
  brightness: Float32Array | null;
}

/** The augmented batch of float32 [n, h, w, c] images. */
export function augmentNative(images: tf.Tensor4D, augmentation: NativeAugmentation): tf.Tensor4D {
  return tf
    .engine()
    .runKernel(AUGMENT, { images }, { ...augmentation } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

function augment(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const images = inputs.images as TensorInfo;
    const { matrices, fillMode, channelShift, brightness } = attrs as unknown as NativeAugmentation;
    const [n, h, w, c] = images.shape as [number, number, number, number];
    if (images.dtype !== "float32" || images.shape.length !== 4)
      throw new Error(`${AUGMENT} needs float32 [n, h, w, c] images`);
    const mode = fillModeIndex(fillMode);
    const out = backend.makeOutput(images.shape, "float32");
    native.augment(
      Int32Array.from([n, h, w, c]),
      backend.typedArrayFromHeap(images),
      matrices,
      mode,
      channelShift,
      brightness,
      backend.typedArrayFromHeap(out),
    );
    return out;
  };
}

let installed: NativeKernels | null = null;

/**
 * The same on plain arrays, outside tfjs (the native training step's batches): the augmented
 * copy of float32 [n, h, w, c] `images`. Needs the kernels installed (hasNativeAugment).
 */
export function augmentArray(
  images: Float32Array,
  shape: [number, number, number, number],
  augmentation: NativeAugmentation,
): Float32Array {
  if (!installed) throw new Error(`${AUGMENT} is not installed`);
  const out = new Float32Array(images.length);
  installed.augment(
    Int32Array.from(shape),
    images,
    augmentation.matrices,
    fillModeIndex(augmentation.fillMode),
    augmentation.channelShift,
    augmentation.brightness,
    out,
  );
  return out;
}

function fillModeIndex(fillMode: NativeAugmentation["fillMode"]): number {
  const mode = FILL_MODES.indexOf(fillMode);
  if (mode < 0) throw new Error(`${AUGMENT}: unknown fill mode ${fillMode}`);
  return mode;
}

/** Registers the kernel on the wasm backend. */
export function installNativeAugment(native: NativeKernels): void {
  installed = native;
  replaceKernel(AUGMENT, () => augment(native));
}
