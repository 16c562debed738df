import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { batchTensor, oneHotArray, oneHotLabels } from "@/trainer/batches";
import type { ImageSet } from "@/trainer/data/cifar10";
import { PIXELS } from "@/trainer/data/cifar10-format";
import type { Normalizer } from "@/trainer/data/prepare";

describe("batches", () => {
  // Three images whose pixels encode (image, position): each value tells where it came from.
  const set: ImageSet = {
    count: 3,
    images: Uint8Array.from(
      { length: 3 * PIXELS },
      (_, i) => (Math.floor(i / PIXELS) * 50 + (i % PIXELS)) % 256,
    ),
    labels: Uint8Array.from([7, 2, 9]),
  };
  const normalizer: Normalizer = {
    kind: "zscore-per-channel",
    scale: [1, 0.5, 2],
    offset: [0.25, -1, 3],
    mean: [0, 0, 0],
    std: [1, 1, 1],
  };

  it("batchTensor takes the indexed images in order and normalises each channel with its own scale and offset", async () => {
    await tf.setBackend("cpu");
    const batch = batchTensor(set, [2, 0, 2], normalizer);
    expect(batch.shape).toEqual([3, 32, 32, 3]);
    const values = batch.dataSync();
    [2, 0, 2].forEach((image, slot) => {
      for (let p = 0; p < PIXELS; p++) {
        const channel = p % 3;
        const byte = set.images[image * PIXELS + p] as number;
        const expected =
          byte * (normalizer.scale[channel] as number) + (normalizer.offset[channel] as number);
        expect(values[slot * PIXELS + p]).toBeCloseTo(expected, 5);
      }
    });
    batch.dispose();
  });

  it("oneHotLabels encodes the indexed labels", async () => {
    await tf.setBackend("cpu");
    const labels = oneHotLabels(set, [1, 2]);
    expect(labels.arraySync()).toEqual([
      [0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ]);
    labels.dispose();
  });

  it("refuses a label that is not a class instead of marking the next image's row", () => {
    const corrupt: ImageSet = { ...set, labels: Uint8Array.from([7, 12, 9]) };
    expect(() => oneHotArray(corrupt, [0, 1, 2])).toThrow(/label 12 of image 1 is not a class/);
    expect(Array.from(oneHotArray(set, [2]))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});
