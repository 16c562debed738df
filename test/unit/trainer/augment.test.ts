import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HYPERPARAMS } from "@/shared/hyperparams";
import { selectBackend } from "@/trainer/backend";
import { augmentedBatchTensor, batchTensor } from "@/trainer/batches";
import {
  type AugmentationParams,
  affineMatrix,
  augmentBatch,
  brightnessShift,
  channelShift,
  sampleTransforms,
} from "@/trainer/data/augment";
import { fitNormalizer } from "@/trainer/data/prepare";
import { Random } from "@/trainer/random";
import { keras, offKerasFixture } from "../../helpers/keras-augment";

beforeAll(async () => {
  await selectBackend("cpu"); // with Labbook's fix for the cpu backend's batched Transform
});

const SEED = DEFAULT_HYPERPARAMS.augmentation;
const NONE: AugmentationParams = {
  ...SEED,
  rotationDegrees: 0,
  widthShift: 0,
  heightShift: 0,
  horizontalFlip: false,
  zoom: 0,
  brightness: [1, 1],
  shearDegrees: 0,
  channelShift: 0,
};

const images = () => tf.tidy(() => tf.randomUniform([3, 8, 8, 3], 0, 1, "float32", 3) as tf.Tensor4D);

describe("augmentation", () => {
  it("with every range at zero returns the images unchanged", () => {
    const x = images();
    const out = augmentBatch(x, sampleTransforms(new Random(1), 3, NONE, 8), NONE);
    expect(
      Array.from(out.dataSync())
        .map((v, i) => Math.abs(v - (x.dataSync()[i] as number)))
        .every((d) => d < 1e-6),
    ).toBe(true);
  });

  it("flips horizontally when asked", () => {
    const x = images();
    const flips = sampleTransforms(new Random(1), 3, { ...NONE, horizontalFlip: true }, 8);
    const flipped = flips.matrices.filter((_, i) => i % 8 === 0).map((a0) => (a0 < 0 ? 1 : 0));
    const out = augmentBatch(x, flips, NONE).arraySync() as number[][][][];
    const input = x.arraySync() as number[][][][];
    flipped.forEach((isFlipped, n) => {
      const expected = isFlipped ? input[n]?.map((row) => [...row].reverse()) : input[n];
      expect(out[n]?.[2]?.[1]?.[0]).toBeCloseTo(expected?.[2]?.[1]?.[0] as number, 5);
      expect(out[n]?.[5]?.[7]?.[2]).toBeCloseTo(expected?.[5]?.[7]?.[2] as number, 5);
    });
  });

  it("shifts by whole pixels when asked, copying pixels instead of blurring them", () => {
    const x = images();
    const input = x.arraySync() as number[][][][];
    // Every output value of image n, channel c, is one of its input values when the shift is whole.
    const copiesPixels = (out: number[][][][]) =>
      out.every((image, n) =>
        image.every((row) =>
          row.every((pixel) =>
            pixel.every((v, c) =>
              input[n]?.some((inRow) => inRow.some((inPixel) => Math.abs((inPixel[c] as number) - v) < 1e-6)),
            ),
          ),
        ),
      );
    const shifts = { ...NONE, widthShift: 0.25, heightShift: 0.25, fillMode: "reflect" as const };
    const whole = sampleTransforms(new Random(5), 3, { ...shifts, wholePixelShifts: true }, 8);
    const offsets = Array.from(whole.matrices).filter((_, i) => i % 8 === 2 || i % 8 === 5);
    expect(offsets.every((t) => Number.isInteger(t))).toBe(true);
    expect(offsets.some((t) => t !== 0)).toBe(true);
    expect(copiesPixels(augmentBatch(x, whole, shifts).arraySync() as number[][][][])).toBe(true);
    // Keras' fractional shifts, from the same random stream, interpolate new values.
    const fractional = sampleTransforms(new Random(5), 3, shifts, 8);
    expect(copiesPixels(augmentBatch(x, fractional, shifts).arraySync() as number[][][][])).toBe(false);
  });

  it("composes a 90° rotation about the centre that maps corners to corners", () => {
    const m = affineMatrix({ rotation: 90, tx: 0, ty: 0, shear: 0, zx: 1, zy: 1, flip: false }, 8);
    const map = (x: number, y: number) =>
      [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]].map((v) => Math.round(v * 1e6) / 1e6);
    expect(map(0, 0)).toEqual([7, 0]);
    expect(map(7, 7)).toEqual([0, 7]);
    expect(map(3.5, 3.5)).toEqual([3.5, 3.5]);
  });

  it("is reproducible under a seed and samples within the configured ranges", () => {
    const a = sampleTransforms(new Random(42), 500, SEED);
    const b = sampleTransforms(new Random(42), 500, SEED);
    const c = sampleTransforms(new Random(43), 500, SEED);
    expect(Array.from(a.matrices)).toEqual(Array.from(b.matrices));
    expect(Array.from(a.matrices)).not.toEqual(Array.from(c.matrices));
    expect(Math.min(...a.brightness)).toBeGreaterThanOrEqual(0.9);
    expect(Math.max(...a.brightness)).toBeLessThanOrEqual(1.1);
    expect(Math.max(...Array.from(a.channelShift, Math.abs))).toBeLessThanOrEqual(0.1);
    const flips = Array.from({ length: 500 }, (_, i) => (a.matrices[i * 8] as number) < 0).filter(
      Boolean,
    ).length;
    expect(flips).toBeGreaterThan(200);
    expect(flips).toBeLessThan(300);
  });

  it("warps every image of a batch on the wasm backend too", async () => {
    await selectBackend("wasm");
    try {
      const x = images();
      const params = { ...NONE, horizontalFlip: true };
      const transforms = sampleTransforms(new Random(5), 3, params, 8);
      const wasm = augmentBatch(x, transforms, params).dataSync();
      await selectBackend("cpu");
      const cpu = augmentBatch(tf.tensor4d(x.dataSync(), x.shape), transforms, params).dataSync();
      expect(
        Array.from(wasm)
          .map((v, i) => Math.abs(v - (cpu[i] as number)))
          .every((d) => d < 1e-5),
      ).toBe(true);
      expect(Array.from(wasm.subarray(2 * 192)).some((v) => v !== 0)).toBe(true);
    } finally {
      await selectBackend("cpu");
    }
  });
});

describe("channel shift and brightness as Keras applies them to normalised data", () => {
  const one = (values: number[], shape: [number, number, number]) => tf.tensor4d(values, [1, ...shape]);
  const scalar = (v: number) => tf.tensor4d([v], [1, 1, 1, 1]);

  it("channel shift: one intensity on every channel, clipped to the image's own min and max", () => {
    for (const c of keras.cases) {
      const out = channelShift(one(c.image, c.shape), scalar(c.intensity)).dataSync();
      const worst = Math.max(...Array.from(out, (v, i) => Math.abs(v - (c.shifted[i] as number))));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it("brightness: 8-bit min-max scaling, PIL's multiply and clip, back to the image's range", () => {
    for (const c of keras.cases) {
      const out = brightnessShift(one(c.shifted, c.shape), scalar(c.brightness)).dataSync();
      const step = (Math.max(...c.shifted) - Math.min(...c.shifted)) / 255;
      const off = Array.from(out, (v, i) => Math.abs(v - (c.shiftedThenBrightened[i] as number)));
      // Equal up to float rounding; a value on an 8-bit boundary may land one level away.
      expect(Math.max(...off)).toBeLessThanOrEqual(step * 1.001);
      expect(off.filter((d) => d > 1e-5).length, `factor ${c.brightness}`).toBeLessThanOrEqual(2);
    }
  });

  it("the whole batch path: shift, then brightness, per image, in Keras' order", () => {
    const { wrong, images } = offKerasFixture(NONE);
    expect(wrong).toBeLessThanOrEqual(images * 2);
  });

  it("works in the run's units: a z-score run shifts by 0.1 z, an SFS run by 0.1 of [0, 1]", () => {
    const set = {
      count: 1,
      images: Uint8Array.from({ length: 3072 }, (_, i) => 40 + ((i * 37) % 150)),
      labels: Uint8Array.from([0]),
    };
    const params = { ...NONE, channelShift: 0.1 };
    const transforms = {
      ...sampleTransforms(new Random(1), 1, NONE),
      channelShift: Float32Array.from([0.1]),
    };
    for (const kind of ["zscore", "sfs"] as const) {
      const normalizer = fitNormalizer(kind, set);
      const plain = batchTensor(set, [0], normalizer).dataSync();
      const shifted = augmentedBatchTensor(set, [0], normalizer, transforms, params).dataSync();
      const max = Math.max(...plain);
      // Pixels that stay under the image's max move by exactly 0.1 in the normalised units.
      const moved = Array.from(plain)
        .map((v, i) => [v, (shifted[i] as number) - v] as const)
        .filter(([v]) => v + 0.1 < max - 1e-6);
      expect(moved.length).toBeGreaterThan(1000);
      for (const [, delta] of moved) expect(delta).toBeCloseTo(0.1, 5);
      expect(Math.max(...shifted)).toBeCloseTo(max, 5);
    }
  });

  it("brightness scales about the image's minimum and keeps it within its own range", () => {
    const x = tf.tensor4d([-2, -1, 0, 1, 2, 3], [1, 1, 2, 3]);
    const darker = Array.from(brightnessShift(x, scalar(0.5)).dataSync());
    // 8-bit levels of (x + 2) / 5: 0, 51, 102, 153, 204, 255 → × 0.5 → 0, 25, 51, 76, 102, 127.
    expect(darker.map((v) => Math.round(((v + 2) / 5) * 255))).toEqual([0, 25, 51, 76, 102, 127]);
    const brighter = Array.from(brightnessShift(x, scalar(1.5)).dataSync());
    expect(Math.max(...brighter)).toBeCloseTo(3, 5);
    expect(Math.min(...brighter)).toBeCloseTo(-2, 5);
  });
});

describe("augmentation preview", () => {
  it("renders originals and augmented copies as a PNG grid", async () => {
    const { PNG } = await import("pngjs");
    const { renderAugmentationPreview } = await import("@/trainer/data/preview");
    const set = {
      count: 2,
      images: Uint8Array.from({ length: 2 * 3072 }, (_, i) => (i * 13) % 256),
      labels: Uint8Array.from([0, 1]),
    };
    const bytes = await renderAugmentationPreview(set, {
      indices: [0, 1],
      variants: 3,
      params: SEED,
      seed: 9,
      scale: 2,
      gap: 2,
    });
    const png = PNG.sync.read(bytes);
    expect([png.width, png.height]).toEqual([4 * 64 + 3 * 2, 2 * 64 + 2]);
    // The first tile is the original image, upscaled.
    expect(Array.from(png.data.subarray(0, 3))).toEqual([0, 13, 26]);
    // An augmented tile differs from the original somewhere.
    const tileStart = (66 * 4) | 0;
    expect(Array.from(png.data.subarray(tileStart, tileStart + 64 * 4))).not.toEqual(
      Array.from(png.data.subarray(0, 64 * 4)),
    );
  });
});
