// Keras 2's channel shift and brightness on z-scored images, by numpy and PIL
// (scripts/reference/keras_augment_fixture.py), and the batch path checked against it.
import { readFileSync } from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { type AugmentationParams, augmentBatch } from "@/trainer/data/augment";

export const keras = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/keras-augment.json"), "utf8"),
) as {
  cases: {
    image: number[];
    shape: [number, number, number];
    intensity: number;
    brightness: number;
    shifted: number[];
    shiftedThenBrightened: number[];
  }[];
};

/**
 * The fixture's images as one batch through augmentBatch on the active backend (identity warp,
 * each case's own shift and brightness): how many values differ from Keras' by more than 1e-5,
 * and how many images there are.
 */
export function offKerasFixture(params: AugmentationParams): { wrong: number; images: number } {
  const n = keras.cases.length;
  const [h, w] = (keras.cases[0] as (typeof keras.cases)[number]).shape;
  const out = tf.tidy(() => {
    const batch = tf.tensor4d(
      keras.cases.flatMap((c) => c.image),
      [n, h, w, 3],
    );
    const transforms = {
      matrices: Float32Array.from({ length: n * 8 }, (_, i) => [1, 0, 0, 0, 1, 0, 0, 0][i % 8] as number),
      channelShift: Float32Array.from(keras.cases, (c) => c.intensity),
      brightness: Float32Array.from(keras.cases, (c) => c.brightness),
    };
    const shifted = { ...params, channelShift: 0.1, brightness: [0.5, 1.5] as [number, number] };
    return augmentBatch(batch, transforms, shifted).dataSync();
  });
  const expected = keras.cases.flatMap((c) => c.shiftedThenBrightened);
  return {
    wrong: Array.from(out).filter((v, i) => Math.abs(v - (expected[i] as number)) > 1e-5).length,
    images: n,
  };
}
