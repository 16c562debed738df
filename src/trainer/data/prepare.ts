// The seed notebook's preparation: its train/validation split of the 50,000 training images
// (sklearn's train_test_split, reproduced index for index) and a normalisation whose
// statistics come from the train split alone, applied to validation and test alike.
import type { Normalization } from "../../shared/hyperparams";
import type { Cifar10, ImageSet } from "./cifar10";
import { PIXELS } from "./cifar10-format";
import { sklearnSplitIndices } from "./numpy-random";

/** x_normalised = x_byte · scale[c] + offset[c] for channel c. */
export interface Normalizer {
  kind: Normalization;
  scale: [number, number, number];
  offset: [number, number, number];
  /** The statistics in pixel units (0–255), for display. */
  mean: number[];
  std: number[];
}

export interface PreparedData {
  train: ImageSet;
  validation: ImageSet;
  test: ImageSet;
  normalizer: Normalizer;
}

export const ZSCORE_EPSILON = 1e-7;

/** The first `count` images of `set` (views, no copy). */
export function takeFirst(set: ImageSet, count: number): ImageSet {
  if (count >= set.count) return set;
  return { count, images: set.images.subarray(0, count * PIXELS), labels: set.labels.subarray(0, count) };
}

function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const count = indices.length;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const from = indices[i] as number;
    images.set(set.images.subarray(from * PIXELS, (from + 1) * PIXELS), i * PIXELS);
    labels[i] = set.labels[from] as number;
  }
  return { count, images, labels };
}

/**
 * train_test_split(X, y, test_size=fraction, random_state=seed), as the notebook called it:
 * validation is the first ceil(fraction · n) of numpy's RandomState(seed).permutation(n), train
 * the rest, each in that order.
 */
export function splitTrainValidation(set: ImageSet, fraction: number, seed: number) {
  const { train, test } = sklearnSplitIndices(set.count, fraction, seed);
  return { train: subset(set, train), validation: subset(set, test) };
}

export function fitNormalizer(kind: Normalization, train: ImageSet): Normalizer {
  if (kind === "sfs")
    return { kind, scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0], mean: [0], std: [255] };
  const sums = [0, 0, 0];
  const squares = [0, 0, 0];
  const { images } = train;
  for (let i = 0; i < images.length; i++) {
    const v = images[i] as number;
    const c = i % 3;
    sums[c] = (sums[c] as number) + v;
    squares[c] = (squares[c] as number) + v * v;
  }
  const perChannel = images.length / 3;
  const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const stats = (sum: number, square: number, n: number) => {
    const mean = sum / n;
    return { mean, std: Math.sqrt(Math.max(0, square / n - mean * mean)) };
  };
  const channels =
    kind === "zscore-per-channel"
      ? [0, 1, 2].map((c) => stats(sums[c] as number, squares[c] as number, perChannel))
      : [stats(total(sums), total(squares), images.length)];
  const of = (c: number) => channels[channels.length === 1 ? 0 : c] as { mean: number; std: number };
  const scale = [0, 1, 2].map((c) => 1 / (of(c).std + ZSCORE_EPSILON)) as Normalizer["scale"];
  const offset = [0, 1, 2].map((c) => -of(c).mean / (of(c).std + ZSCORE_EPSILON)) as Normalizer["offset"];
  return { kind, scale, offset, mean: channels.map((s) => s.mean), std: channels.map((s) => s.std) };
}

export function prepareData(
  data: Cifar10,
  options: { normalization: Normalization; validationSplit: number; splitSeed: number; trainLimit?: number },
): PreparedData {
  const { train: fullTrain, validation } = splitTrainValidation(
    data.train,
    options.validationSplit,
    options.splitSeed,
  );
  const train = options.trainLimit ? takeFirst(fullTrain, options.trainLimit) : fullTrain;
  return { train, validation, test: data.test, normalizer: fitNormalizer(options.normalization, train) };
}
