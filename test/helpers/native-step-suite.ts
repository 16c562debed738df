// The whole native training step (model/native-step.ts) against tfjs' trainOnBatch through the
// same native layers, on the seed network, for one addon (the kernels themselves are compared
// with the cpu backend in native-conv-suite.ts). Both paths draw dropout's seeds from
// Math.random, which each run replays from the same start.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_HYPERPARAMS, type Hyperparams } from "@/shared/hyperparams";
import { installNativeConvKernels } from "@/trainer/backend/native-conv";
import type { NativeLibrary } from "@/trainer/backend/native-module";
import {
  augmentedBatchArray,
  augmentedBatchTensor,
  batchArray,
  batchTensor,
  oneHotArray,
  oneHotLabels,
} from "@/trainer/batches";
import { readCheckpoint } from "@/trainer/checkpoint";
import { sampleTransforms } from "@/trainer/data/augment";
import { fitNormalizer } from "@/trainer/data/prepare";
import { NativeTrainingStep } from "@/trainer/model/native-step";
import { buildModel, logitsModel } from "@/trainer/model/vgg";
import { Random } from "@/trainer/random";
import { type Compiled, compile, type EpochMetrics, trainModel } from "@/trainer/train";
import { expectClose } from "./backend-compare";

/** Batches of normalised-looking images and one-hot labels; the last one smaller, as an epoch's. */
function batches(sizes: number[]): { x: Float32Array; y: Float32Array; n: number }[] {
  const random = new Random(17);
  return sizes.map((n) => ({
    n,
    x: Float32Array.from({ length: n * 3072 }, () => random.uniform(-2, 2)),
    y: Float32Array.from({ length: n * 10 }, (_, i) =>
      i % 10 === (Math.floor(i / 10) * 7 + 3) % 10 ? 1 : 0,
    ),
  }));
}

/** Trains on `data` step by step, each through the native step or tfjs (`paths`); the results and every weight after. */
async function train(
  config: Hyperparams,
  data: ReturnType<typeof batches>,
  paths: ("native" | "tfjs")[],
  tweak?: (c: Compiled) => void,
) {
  let state = 0.5;
  vi.spyOn(Math, "random").mockImplementation(() => {
    state = (state * 9301 + 49297) % 233280;
    return state / 233280;
  });
  const model = buildModel({ dropout: config.dropout, l2: config.l2, seed: 5 });
  const compiled = compile(model, config);
  tweak?.(compiled);
  expect(compiled.nativeStep).not.toBeNull();
  const results: [number, number][] = [];
  for (const [i, path] of paths.entries()) {
    const { x, y, n } = data[i] as (typeof data)[number];
    if (path === "native") results.push((compiled.nativeStep as NativeTrainingStep).train(x, y, n));
    else {
      compiled.nativeStep?.store();
      const [xt, yt] = [tf.tensor4d(x, [n, 32, 32, 3]), tf.tensor2d(y, [n, 10])];
      results.push((await compiled.training.trainOnBatch(xt, yt)) as [number, number]);
      tf.dispose([xt, yt]);
    }
  }
  compiled.nativeStep?.store();
  vi.restoreAllMocks();
  const saved = await compiled.optimizer.getWeights();
  const out = {
    results,
    weights: model.getWeights().map((w) => w.dataSync() as Float32Array),
    names: model.weights.map((w) => withoutSuffix(w.name)),
    optimizerNames: saved.map((s) => withoutSuffix(s.name)),
    optimizer: saved.map((s) => s.tensor.dataSync() as Float32Array),
  };
  model.dispose();
  compiled.optimizer.dispose();
  return out;
}

/** A variable's name without the _2 that tfjs adds to the names of a second model's variables. */
const withoutSuffix = (name: string) =>
  name
    .split("/")
    .map((part, i) => (i > 0 ? part.replace(/_\d+$/, "") : part))
    .join("/");

export function describeNativeStep(library: NativeLibrary) {
  beforeAll(async () => {
    await tf.setBackend("wasm");
    await tf.ready();
    installNativeConvKernels(library, 1);
  });
  afterEach(() => vi.restoreAllMocks());

  describe(`the whole training step in native calls (${library})`, () => {
    const nesterov: Hyperparams = {
      ...DEFAULT_HYPERPARAMS,
      optimizer: "sgd-nesterov",
      // Small enough that three steps do not magnify float rounding (at 0.01 the losses part by 1e-4).
      learningRate: 0.001,
      momentum: 0.9,
      labelSmoothing: 0.1,
      l2: 1e-3,
      dropout: [0.2, 0.3, 0.4, 0.5],
    };

    it("trains the seed network as tfjs' step does: losses, accuracies, weights, BatchNorm statistics and momentum, also for a smaller last batch", async () => {
      const data = batches([8, 8, 5]);
      const ours = await train(nesterov, data, ["native", "native", "native"]);
      const theirs = await train(nesterov, data, ["tfjs", "tfjs", "tfjs"]);
      expectClose(
        ours.results.map((r) => Float32Array.from(r)),
        theirs.results.map((r) => Float32Array.from(r)),
        1e-5,
      );
      // Training moved the weights: a comparison of untouched weights would prove nothing.
      const start = buildModel({ dropout: nesterov.dropout, l2: nesterov.l2, seed: 5 });
      const moved = start.getWeights().map((w, i) => {
        const before = w.dataSync();
        return (theirs.weights[i] as Float32Array).some((v, k) => Math.abs(v - (before[k] as number)) > 1e-4);
      });
      start.dispose();
      expect(moved.every(Boolean)).toBe(true);
      expect(ours.names).toEqual(theirs.names);
      expectClose(ours.weights, theirs.weights, 2e-4);
      expect(ours.optimizerNames).toEqual(theirs.optimizerNames);
      expect(ours.optimizer[0]).toEqual(Int32Array.of(3)); // the iterations
      expectClose(ours.optimizer.slice(1), theirs.optimizer.slice(1), 2e-4);
    });

    it("hands Adam's state over both ways: native steps between tfjs steps train as tfjs' steps alone", async () => {
      const data = batches([8, 8, 8, 8]);
      const config = { ...DEFAULT_HYPERPARAMS, learningRate: 0.001, dropout: [0.2, 0.3, 0.4, 0.5] };
      // With the default epsilon, Adam's first steps are ≈ lr · sign(g): float rounding in a
      // gradient near 0 flips whole steps, and the two paths part by 1-2% within 4 steps.
      const epsilon = (c: Compiled) => {
        (c.optimizer as unknown as { epsilon: number }).epsilon = 0.1;
      };
      const mixed = await train(config, data, ["tfjs", "native", "native", "tfjs"], epsilon);
      const tfjs = await train(config, data, ["tfjs", "tfjs", "tfjs", "tfjs"], epsilon);
      expectClose(
        mixed.results.map((r) => Float32Array.from(r)),
        tfjs.results.map((r) => Float32Array.from(r)),
        1e-5,
      );
      expect(mixed.optimizerNames).toEqual(tfjs.optimizerNames);
      expect(mixed.optimizer[0]).toEqual(Int32Array.of(4));
      expectClose(mixed.optimizer.slice(1), tfjs.optimizer.slice(1), 2e-4);
      expectClose(mixed.weights, tfjs.weights, 2e-4);
    });

    it("runs no tfjs kernel, and refuses a batch whose sizes disagree", async () => {
      const model = buildModel({ dropout: [0.2, 0.3, 0.4, 0.5], l2: 1e-4, seed: 5 });
      const { nativeStep } = compile(model, DEFAULT_HYPERPARAMS);
      const step = nativeStep as NativeTrainingStep;
      const [{ x, y }] = batches([4]) as [{ x: Float32Array; y: Float32Array; n: number }];
      let result: [number, number] = [Number.NaN, Number.NaN];
      const { kernelNames } = await tf.profile(() => {
        result = step.train(x, y, 4);
      });
      expect(kernelNames).toEqual([]);
      expect(Number.isFinite(result[0]) && result[0] > 0).toBe(true);
      expect(() => step.train(x, y, 65)).toThrow(/1 to 64 images here, not 65/);
      expect(() => step.train(x, y, 3)).toThrow(/a batch of 3 images needs 9216 floats, not 12288/);
      expect(() => step.train(x, y.subarray(0, 30), 4)).toThrow(/needs 40 one-hot labels, not 30/);
      step.store();
      model.dispose();
    });

    it("takes its batches as plain arrays: the same normalised, augmented images and one-hot labels as the tensors tfjs trains on", () => {
      const random = new Random(4);
      const set = {
        count: 6,
        images: Uint8Array.from({ length: 6 * 3072 }, () => random.int(256)),
        labels: Uint8Array.of(3, 1, 4, 1, 5, 9),
      };
      const normalizer = fitNormalizer("zscore", set);
      const params = DEFAULT_HYPERPARAMS.augmentation;
      const transforms = sampleTransforms(new Random(5), 4, params);
      const indices = [5, 0, 2, 2];
      const augmented = augmentedBatchArray(set, indices, normalizer, transforms, params);
      const plain = batchArray(set, indices, normalizer);
      const [augmentedTensor, plainTensor, labels] = [
        augmentedBatchTensor(set, indices, normalizer, transforms, params),
        batchTensor(set, indices, normalizer),
        oneHotLabels(set, indices),
      ];
      expect(augmented).toEqual(augmentedTensor.dataSync());
      expect(plain).toEqual(plainTensor.dataSync());
      expect(augmented).not.toEqual(plain);
      expect(oneHotArray(set, indices)).toEqual(labels.dataSync());
      tf.dispose([augmentedTensor, plainTensor, labels]);
    });

    it("trainModel hands the trained state to validation, checkpoints and the returned model", async () => {
      const random = new Random(8);
      const set = (count: number) => ({
        count,
        images: Uint8Array.from({ length: count * 3072 }, () => random.int(256)),
        labels: Uint8Array.from({ length: count }, () => random.int(10)),
      });
      const train = set(48);
      const data = {
        train,
        validation: set(16),
        test: set(16),
        normalizer: fitNormalizer("zscore", train),
      };
      const config = { ...DEFAULT_HYPERPARAMS, epochs: 2, batchSize: 16, learningRate: 0.01 };
      const checkpointDir = mkdtempSync(path.join(tmpdir(), "labbook-native-step-"));
      try {
        const result = await trainModel({ config, data, backend: "wasm-libtorch", checkpointDir });
        // Validated with the weights each epoch trained: the same weights would give the same loss.
        const [first, second] = result.history as [EpochMetrics, EpochMetrics];
        expect(second.valLoss).not.toBe(first.valLoss);
        const untrained = buildModel({ dropout: config.dropout, l2: config.l2, seed: config.seed });
        const trained = result.model.getWeights().map((w) => w.dataSync() as Float32Array);
        untrained.getWeights().forEach((w, i) => {
          expect(trained[i]).not.toEqual(w.dataSync());
        });
        untrained.dispose();
        const checkpoint = await readCheckpoint(checkpointDir);
        expect(checkpoint?.tensors.model.map((t) => t.dataSync())).toEqual(trained);
        // Three batches an epoch, two epochs: the optimizer's iterations went back with its state.
        expect(checkpoint?.tensors.optimizer[0]?.tensor.dataSync()).toEqual(Int32Array.of(6));
        result.model.dispose();
      } finally {
        rmSync(checkpointDir, { recursive: true, force: true });
      }
    });

    it("is not used where a layer or the optimizer has no native case", () => {
      const model = buildModel({ dropout: [0.2, 0.3, 0.4, 0.5], l2: 1e-4, seed: 5 });
      const training = logitsModel(model);
      // tfjs' own Adam adds no L2 gradients and keeps its state its own way.
      expect(NativeTrainingStep.for(training, tf.train.adam(0.001), 0, 64)).toBeNull();
      expect(compile(model, DEFAULT_HYPERPARAMS, { nativeStep: false }).nativeStep).toBeNull();
      const other = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, activation: "tanh" }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 10, name: "predictions" }),
        ],
      });
      expect(compile(other, DEFAULT_HYPERPARAMS).nativeStep).toBeNull();
      model.dispose();
      other.dispose();
    });
  });
}
