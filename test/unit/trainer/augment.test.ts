import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HYPERPARAMS } from "@/shared/hyperparams";
import { selectBackend } from "@/trainer/backend";
import {
  type AugmentationParams,
  affineMatrix,
  augmentBatch,
  sampleTransforms,
} from "@/trainer/data/augment";
import { Random } from "@/trainer/random";

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

  it("keeps pixels in [0, 1] after brightness and channel shift", () => {
    const x = tf.ones([2, 4, 4, 3]) as tf.Tensor4D;
    const params = { ...NONE, brightness: [1.5, 1.5] as [number, number], channelShift: 0.3 };
    const out = augmentBatch(x, sampleTransforms(new Random(1), 2, params, 4), params);
    expect(out.max().dataSync()[0]).toBeLessThanOrEqual(1);
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
