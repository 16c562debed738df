// On-the-fly augmentation with the parameters of Keras' ImageDataGenerator. Each image gets
// one composed affine matrix; the whole batch is warped by a single tf.image.transform call.
// Pixels are in [0, 1] here: brightness scales them, channel shift adds to them, both clipped.
import * as tf from "@tensorflow/tfjs";
import type { Hyperparams } from "../../shared/hyperparams";
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
  for (let i = 0; i < count; i++) {
    const m = affineMatrix(
      {
        rotation: random.uniform(-params.rotationDegrees, params.rotationDegrees),
        tx: random.uniform(-params.widthShift, params.widthShift) * size,
        ty: random.uniform(-params.heightShift, params.heightShift) * size,
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

/** Augments a batch of [n, h, w, 3] images in [0, 1]. */
export function augmentBatch(
  images: tf.Tensor4D,
  transforms: BatchTransforms,
  params: AugmentationParams,
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = images.shape[0];
    const warped = tf.image.transform(
      images,
      tf.tensor2d(transforms.matrices, [n, 8]),
      "bilinear",
      params.fillMode,
      0,
    );
    const scaled = warped.mul(tf.tensor4d(transforms.brightness, [n, 1, 1, 1]));
    return scaled.add(tf.tensor4d(transforms.channelShift, [n, 1, 1, 1])).clipByValue(0, 1) as tf.Tensor4D;
  });
}
