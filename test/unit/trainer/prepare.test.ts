import { describe, expect, it } from "vitest";
import type { ImageSet } from "@/trainer/data/cifar10";
import { fitNormalizer, prepareData, splitTrainValidation } from "@/trainer/data/prepare";

function set(count: number): ImageSet {
  const images = new Uint8Array(count * 3072);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7 + Math.floor(i / 3072)) % 256;
  return { count, images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10) };
}

/** The first pixel's red value identifies an image in `set`. */
const ids = (s: ImageSet) => Array.from({ length: s.count }, (_, i) => s.images[i * 3072 + 1] as number);

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
