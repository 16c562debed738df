import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ImageSet } from "@/trainer/data/cifar10";
import { Mt19937, numpyPermutation, sklearnSplitIndices } from "@/trainer/data/numpy-random";
import { fitNormalizer, prepareData, splitTrainValidation } from "@/trainer/data/prepare";

/** Written by real numpy and sklearn: scripts/reference/numpy_split_fixture.py. */
const fixture = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, "../../fixtures/numpy-split.json"), "utf8"),
) as {
  notebook: { validation: number[]; trainHead: number[]; trainTail: number[]; trainSum: number };
  cases: { n: number; fraction: number; seed: number; test: number[]; train: number[] }[];
  mt19937Seed70Uint32: number[];
};

function set(count: number): ImageSet {
  const images = new Uint8Array(count * 3072);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7 + Math.floor(i / 3072)) % 256;
  return { count, images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10) };
}

/** The first pixel's red value identifies an image in `set`. */
const ids = (s: ImageSet) => Array.from({ length: s.count }, (_, i) => s.images[i * 3072 + 1] as number);

describe("the notebook's split, as numpy and sklearn make it", () => {
  it("MT19937 seeded as RandomState(70) draws numpy's raw outputs", () => {
    const random = new Mt19937(70);
    expect(fixture.mt19937Seed70Uint32.map(() => random.nextUint32())).toEqual(fixture.mt19937Seed70Uint32);
  });

  it("train_test_split(test_size=0.1, random_state=70): the same 5,000 validation images, in order", () => {
    const { train, test } = sklearnSplitIndices(50_000, 0.1, 70);
    expect(Array.from(test)).toEqual(fixture.notebook.validation);
    expect(Array.from(train.subarray(0, 100))).toEqual(fixture.notebook.trainHead);
    expect(Array.from(train.subarray(-100))).toEqual(fixture.notebook.trainTail);
    expect(train.reduce((a, b) => a + b, 0)).toBe(fixture.notebook.trainSum);
  });

  it("other seeds, sizes and fractions split as sklearn does", () => {
    for (const c of fixture.cases) {
      const { train, test } = sklearnSplitIndices(c.n, c.fraction, c.seed);
      expect([Array.from(test), Array.from(train)], `n=${c.n} seed=${c.seed}`).toEqual([c.test, c.train]);
    }
    expect(numpyPermutation(1, 5)).toEqual(Uint32Array.from([0]));
  });

  it("splitTrainValidation picks exactly those images", () => {
    const data = set(1000);
    const c = fixture.cases[0] as (typeof fixture.cases)[number];
    const { train, validation } = splitTrainValidation(data, c.fraction, c.seed);
    const byIndex = (indices: number[]) => indices.map((i) => data.images[i * 3072 + 1] as number);
    expect(ids(validation)).toEqual(byIndex(c.test));
    expect(ids(train)).toEqual(byIndex(c.train));
  });
});

describe("train/validation split", () => {
  it("splits 50,000 images 45,000/5,000 at the default fraction", () => {
    const { train, validation } = splitTrainValidation(set(50_000), 0.1, 70);
    expect([train.count, validation.count]).toEqual([45_000, 5_000]);
  });

  it("is a seeded partition: same seed, same split; another seed, another split", () => {
    const data = set(200);
    const a = splitTrainValidation(data, 0.25, 70);
    const b = splitTrainValidation(data, 0.25, 70);
    const c = splitTrainValidation(data, 0.25, 71);
    expect(ids(a.validation)).toEqual(ids(b.validation));
    expect(ids(a.validation)).not.toEqual(ids(c.validation));
    const all = [...ids(a.train), ...ids(a.validation)].sort((x, y) => x - y);
    expect(all).toEqual(ids(data).sort((x, y) => x - y));
  });
});

describe("normalisation", () => {
  const normalise = (s: ImageSet, n: ReturnType<typeof fitNormalizer>) =>
    Float64Array.from(s.images, (v, i) => v * (n.scale[i % 3] as number) + (n.offset[i % 3] as number));
  const meanStd = (values: ArrayLike<number>) => {
    let sum = 0;
    let square = 0;
    for (let i = 0; i < values.length; i++) {
      sum += values[i] as number;
      square += (values[i] as number) ** 2;
    }
    const mean = sum / values.length;
    return { mean, std: Math.sqrt(square / values.length - mean * mean) };
  };

  it("sfs divides by 255", () => {
    const n = fitNormalizer("sfs", set(4));
    expect(n.scale).toEqual([1 / 255, 1 / 255, 1 / 255]);
    expect(n.offset).toEqual([0, 0, 0]);
  });

  it("zscore gives the train split mean 0 and std 1", () => {
    const train = set(20);
    const stats = meanStd(normalise(train, fitNormalizer("zscore", train)));
    expect(stats.mean).toBeCloseTo(0, 6);
    expect(stats.std).toBeCloseTo(1, 6);
  });

  it("zscore-per-channel does so for each channel", () => {
    const train = set(20);
    const values = normalise(train, fitNormalizer("zscore-per-channel", train));
    for (let c = 0; c < 3; c++) {
      const stats = meanStd(values.filter((_, i) => i % 3 === c));
      expect(stats.mean).toBeCloseTo(0, 6);
      expect(stats.std).toBeCloseTo(1, 6);
    }
  });

  it("fits statistics on the (limited) train split only and applies them to validation and test", () => {
    const data = prepareData(
      { train: set(100), test: set(10) },
      { normalization: "zscore", validationSplit: 0.2, splitSeed: 70, trainLimit: 50 },
    );
    expect([data.train.count, data.validation.count, data.test.count]).toEqual([50, 20, 10]);
    expect(data.normalizer).toEqual(fitNormalizer("zscore", data.train));
  });
});
