// On-the-fly augmentation with the parameters and semantics of Keras 2's ImageDataGenerator,
// which the notebook fed the already normalised array: everything here works in the run's own
// normalised units (z for z-score, [0, 1] for SFS). Keras' order is affine, channel shift, flip,
// brightness. The flip is folded into the affine matrix (applied after it, as Keras does), and
// the channel shift and brightness act on whole images, so they commute with the flip.
import * as tf from "@tensorflow/tfjs";
import type { Hyperparams } from "../../shared/hyperparams";
import { augmentNative, hasNativeAugment, type NativeAugmentation } from "../backend/native-augment";
import type { Random } from "../random";

export type AugmentationParams = Hyperparams["augmentation"];

export interface BatchTransforms {
  /** [n, 8] projective transforms mapping output pixels to input pixels (tf.image.transform). */
  matrices: Float32Array;
  brightness: Float32Array;
  channelShift: Float32Array;
}

type Matrix = [number, number, number, number, number, number, number, number, number];

function multiply(a: Matrix, b: Matrix): Matrix {
  const out = new Array(9).fill(0) as Matrix;
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += (a[r * 3 + k] as number) * (b[k * 3 + c] as number);
      out[r * 3 + c] = sum;
    }
  }
  return out;
}

const DEG = Math.PI / 180;

/**
 * The output→input matrix for one image, composed as Keras does (rotation, shift, shear,
 * zoom about the centre), after an optional horizontal flip.
 */
export function affineMatrix(
  p: { rotation: number; tx: number; ty: number; shear: number; zx: number; zy: number; flip: boolean },
  size: number,
): Matrix {
  const c = (size - 1) / 2;
  const cos = Math.cos(p.rotation * DEG);
  const sin = Math.sin(p.rotation * DEG);
  const steps: Matrix[] = [
    [1, 0, c, 0, 1, c, 0, 0, 1],
    [cos, -sin, 0, sin, cos, 0, 0, 0, 1],
    [1, 0, p.tx, 0, 1, p.ty, 0, 0, 1],
    [1, -Math.sin(p.shear * DEG), 0, 0, Math.cos(p.shear * DEG), 0, 0, 0, 1],
    [p.zx, 0, 0, 0, p.zy, 0, 0, 0, 1],
    [1, 0, -c, 0, 1, -c, 0, 0, 1],
    p.flip ? [-1, 0, size - 1, 0, 1, 0, 0, 0, 1] : [1, 0, 0, 0, 1, 0, 0, 0, 1],
  ];
  return steps.reduce(multiply);
}

export function sampleTransforms(
  random: Random,
  count: number,
  params: AugmentationParams,
  size = 32,
): BatchTransforms {
  const matrices = new Float32Array(count * 8);
  const brightness = new Float32Array(count);
  const channelShift = new Float32Array(count);
  const shift = (range: number) => {
    const pixels = random.uniform(-range, range) * size;
    return params.wholePixelShifts ? Math.round(pixels) : pixels;
  };
  for (let i = 0; i < count; i++) {
    const m = affineMatrix(
      {
        rotation: random.uniform(-params.rotationDegrees, params.rotationDegrees),
        tx: shift(params.widthShift),
        ty: shift(params.heightShift),
        shear: random.uniform(-params.shearDegrees, params.shearDegrees),
        zx: random.uniform(1 - params.zoom, 1 + params.zoom),
        zy: random.uniform(1 - params.zoom, 1 + params.zoom),
        flip: params.horizontalFlip && random.next() < 0.5,
      },
      size,
    );
    matrices.set([m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]], i * 8);
    brightness[i] = random.uniform(params.brightness[0], params.brightness[1]);
    channelShift[i] = random.uniform(-params.channelShift, params.channelShift);
  }
  return { matrices, brightness, channelShift };
}

/**
 * Keras' apply_channel_shift: one intensity per image, added to every channel, then clipped to
 * the image's own min and max (taken before the shift).
 */
export function channelShift(images: tf.Tensor4D, intensity: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const lo = images.min([1, 2, 3], true);
    const hi = images.max([1, 2, 3], true);
    return clipPerImage(images.add(intensity), lo, hi);
  });
}

/**
 * min(max(x, lo), hi) for per-image bounds, written with relu: tfjs-wasm's Maximum and Minimum
 * take a slow path when one side broadcasts (23 ms for a batch of 64 against 1.5 ms this way,
 * 9% of a training step); the result differs by float32 rounding at most.
 */
function clipPerImage(x: tf.Tensor4D, lo: tf.Tensor, hi: tf.Tensor): tf.Tensor4D {
  const aboveLo = tf.relu(x.sub(lo)).add(lo);
  return hi.sub(tf.relu(hi.sub(aboveLo))) as tf.Tensor4D;
}

/**
 * Keras' apply_brightness_shift(x, b, scale=False) on normalised data: the image is min-max
 * scaled to [0, 255] and truncated to 8 bits, PIL's ImageEnhance.Brightness multiplies it
 * (truncating, clipped at 255), and it is mapped back to its own min and max. So brightness
 * scales about the image's minimum, clips at its maximum, and quantises to 256 levels.
 * Keras 2 does this only for data outside [0, 255]; for data in [0, 1] (SFS) it casts the floats
 * to uint8 and returns a black image, a bug Labbook does not reproduce: every image takes the
 * min-relative path.
 */
export function brightnessShift(images: tf.Tensor4D, factor: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const lo = images.min([1, 2, 3], true);
    const span = images.max([1, 2, 3], true).sub(lo);
    // A flat image (span 0) stays at its value, as in Keras.
    const safeSpan = tf.where(span.greater(0), span, tf.onesLike(span));
    const bytes = images.sub(lo).div(safeSpan).mul(255).floor();
    const brightened = tf.minimum(bytes.mul(factor).floor(), 255);
    return brightened.div(255).mul(span).add(lo) as tf.Tensor4D;
  });
}

function effects(params: AugmentationParams) {
  // A range of exactly [1, 1] means no brightness change (Keras' brightness_range=None).
  return {
    shift: params.channelShift > 0,
    brighten: params.brightness[0] !== 1 || params.brightness[1] !== 1,
  };
}

/** The batch's transforms as the native kernel takes them. */
export function nativeAugmentation(
  transforms: BatchTransforms,
  params: AugmentationParams,
): NativeAugmentation {
  const { shift, brighten } = effects(params);
  return {
    matrices: transforms.matrices,
    fillMode: params.fillMode,
    channelShift: shift ? transforms.channelShift : null,
    brightness: brighten ? transforms.brightness : null,
  };
}

/** Augments a batch of normalised [n, h, w, 3] images, as the notebook's generator did. */
export function augmentBatch(
  images: tf.Tensor4D,
  transforms: BatchTransforms,
  params: AugmentationParams,
): tf.Tensor4D {
  const { shift, brighten } = effects(params);
  if (hasNativeAugment() && images.dtype === "float32")
    return augmentNative(images, nativeAugmentation(transforms, params));
  return tf.tidy(() => {
    const n = images.shape[0];
    // fill mode "constant" fills with 0 in the normalised units, as Keras' cval=0 does.
    let out = tf.image.transform(
      images,
      tf.tensor2d(transforms.matrices, [n, 8]),
      "bilinear",
      params.fillMode,
      0,
    );
    if (shift) out = channelShift(out, tf.tensor4d(transforms.channelShift, [n, 1, 1, 1]));
    if (brighten) out = brightnessShift(out, tf.tensor4d(transforms.brightness, [n, 1, 1, 1]));
    return out;
  });
}
