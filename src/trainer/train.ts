// The seed notebook's training recipe: Adam, ReduceLROnPlateau and EarlyStopping on val loss
// (as Keras 2 computes it, with the L2 penalty; best weights restored only when it stops
// early, unless asked to always), on-the-fly augmentation, a checkpoint after every epoch, and
// a resume from the last checkpoint that continues the run where it stopped.
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import type { Hyperparams } from "../shared/hyperparams";
import type { Evaluation } from "../shared/scoring";
import { adamOptimizer, momentumOptimizer } from "./backend/native-optimizers";
import {
  augmentedBatchArray,
  augmentedBatchTensor,
  batchArray,
  batchTensor,
  oneHotArray,
  oneHotLabels,
} from "./batches";
import { type CallbackState, readCheckpoint, writeCheckpoint } from "./checkpoint";
import { CHECKPOINT_VERSION } from "./checkpoint-file";
import { type AugmentationParams, type BatchTransforms, sampleTransforms } from "./data/augment";
import type { ImageSet } from "./data/cifar10";
import type { Normalizer, PreparedData } from "./data/prepare";
import { evaluateModel } from "./evaluate";
import { takeL2Gradients } from "./model/native-layers";
import { NativeTrainingStep } from "./model/native-step";
import { buildModel, logitsModel } from "./model/vgg";
import { Random } from "./random";

export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  /** Cross-entropy plus the L2 penalty, as Keras 2's evaluate reports val_loss. */
  valLoss: number;
  /** The validation cross-entropy alone (absent in checkpoints of older versions). */
  valCrossEntropy?: number;
  valAccuracy: number;
  /** The learning rate the epoch trained with. */
  lr: number;
  epochSeconds: number;
  imagesPerSecond: number;
  /** When the epoch ended (ISO 8601), kept through checkpoints so replays keep their time. */
  wallTime?: string;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  /** The epoch's running means so far. */
  loss: number;
  accuracy: number;
  /** This batch's own values, for batch-level curves. */
  batchLoss: number;
  batchAccuracy: number;
  imagesPerSecond: number;
  /** When the batch ended (ms since the epoch). */
  time: number;
}

export interface TrainEvents {
  /** Once the model is built (and restored, when resuming), before the first batch. */
  onStart?(model: tf.LayersModel, info: { resumedFrom: number }): void | Promise<void>;
  /** `test` is set after the epochs config.testEvaluationEvery asks for. */
  onEpoch?(metrics: EpochMetrics, extra: { test?: Evaluation }): void | Promise<void>;
  onBatch?(progress: BatchProgress): void;
  /** Checked after every batch and validation batch; true stops the run (the last epoch's checkpoint is kept). */
  shouldStop?(): boolean;
  onLog?(message: string): void;
}

export interface TrainOptions {
  config: Hyperparams;
  data: PreparedData;
  backend: string;
  /** Where checkpoints go and resume from; none means no checkpoints. */
  checkpointDir?: string;
  events?: TrainEvents;
  validationBatchSize?: number;
  /**
   * Blocks the thread for this long after every batch (tests): a stand-in for a slow backend's
   * synchronous step, which starves anything else on the same thread.
   */
  blockAfterBatchMs?: number;
}

export interface TrainResult {
  model: tf.Sequential;
  history: EpochMetrics[];
  /** 1-based epoch whose weights the model holds at the end (the last, or the best restored). */
  modelEpoch: number;
  stoppedEarly: boolean;
  cancelled: boolean;
  /** 1-based epoch the run resumed after, or 0 for a fresh start. */
  resumedFrom: number;
  test: Evaluation | null;
}

/** Keras's ReduceLROnPlateau compares with an absolute min_delta of 1e-4. */
const PLATEAU_MIN_DELTA = 1e-4;

export function configHash(config: Hyperparams): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16);
}

/**
 * Adam reads its protected `learningRate` on every step; SGD and momentum step with a scalar
 * that only their own setLearningRate updates.
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // Not instanceof: tfjs' Optimizer answers it by duck typing, true for every optimizer.
  if ("setLearningRate" in optimizer && typeof optimizer.setLearningRate === "function")
    (optimizer as tf.SGDOptimizer).setLearningRate(lr);
  else (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

export interface Compiled {
  optimizer: tf.Optimizer;
  /** The model's layers up to the logits, compiled with the loss: what trains and validates. */
  training: tf.LayersModel;
  /**
   * The whole step in native calls, where the backend and every layer have them; it holds the
   * weights while it trains, until its store() (nativeStep: false, or LABBOOK_NATIVE_STEP=0,
   * trains through tfjs' trainOnBatch).
   */
  nativeStep: NativeTrainingStep | null;
}

/** The optimizer and loss `config` asks for (bench-trainer uses it too). */
export function compile(
  model: tf.LayersModel,
  config: Hyperparams,
  { nativeStep = process.env.LABBOOK_NATIVE_STEP !== "0" } = {},
): Compiled {
  const optimizer =
    config.optimizer === "sgd-nesterov"
      ? momentumOptimizer(config.learningRate, config.momentum, true)
      : adamOptimizer(config.learningRate, 0.9, 0.999, 1e-7);
  const smoothing = config.labelSmoothing;
  // Per-sample softmax cross-entropy from logits; label smoothing mixes the targets with the
  // uniform distribution over the classes, as Keras' label_smoothing does.
  const loss = (yTrue: tf.Tensor, logits: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(yTrue, logits, undefined, smoothing, tf.Reduction.NONE);
  const training = logitsModel(model);
  takeL2Gradients(training, optimizer);
  training.compile({ optimizer, loss, metrics: ["accuracy"] });
  const step = nativeStep ? NativeTrainingStep.for(training, optimizer, smoothing, config.batchSize) : null;
  return { optimizer, training, nativeStep: step };
}

/** The images of a training batch, and how to augment them (none: as they are). */
export interface TrainingBatch {
  set: ImageSet;
  indices: ArrayLike<number>;
  normalizer: Normalizer;
  augmentation?: { transforms: BatchTransforms; params: AugmentationParams };
}

/** One training step on a batch: [loss, accuracy], the loss with the L2 penalties. */
export async function trainBatch(
  { training, nativeStep }: Compiled,
  { set, indices, normalizer, augmentation }: TrainingBatch,
): Promise<[number, number]> {
  if (nativeStep) {
    // Plain arrays: the batch never becomes a tensor.
    const x = augmentation
      ? augmentedBatchArray(set, indices, normalizer, augmentation.transforms, augmentation.params)
      : batchArray(set, indices, normalizer);
    return nativeStep.train(x, oneHotArray(set, indices), indices.length);
  }
  const x = augmentation
    ? augmentedBatchTensor(set, indices, normalizer, augmentation.transforms, augmentation.params)
    : batchTensor(set, indices, normalizer);
  const y = oneHotLabels(set, indices);
  try {
    return (await training.trainOnBatch(x, y)) as [number, number];
  } finally {
    tf.dispose([x, y]);
  }
}

/**
 * The one-cycle learning rate at `step` of `total`: a cosine warm-up from peak / 25 to the
 * peak over `warmup` of the steps, then a cosine down to peak / 10⁴.
 */
export function oneCycleLr(step: number, total: number, peak: number, warmup: number): number {
  const rise = Math.max(1, Math.round(total * warmup));
  const cosine = (from: number, to: number, t: number) =>
    to + ((from - to) * (1 + Math.cos(Math.PI * t))) / 2;
  if (step < rise) return cosine(peak / 25, peak, step / rise);
  return cosine(peak, peak / 1e4, Math.min(1, (step - rise) / Math.max(1, total - rise)));
}

/** ReduceLROnPlateau then EarlyStopping, as Keras applies them at an epoch's end. */
export function applyCallbacks(
  state: CallbackState,
  valLoss: number,
  epoch: number,
  config: Hyperparams,
): { state: CallbackState; improved: boolean; stop: boolean } {
  const next: CallbackState = {
    lr: state.lr,
    plateau: { ...state.plateau },
    early: { ...state.early },
  };
  if (valLoss < next.plateau.best - PLATEAU_MIN_DELTA) {
    next.plateau = { best: valLoss, wait: 0 };
  } else if (++next.plateau.wait >= config.lrPlateau.patience && config.lrSchedule === "plateau") {
    if (next.lr > config.lrPlateau.minLr)
      next.lr = Math.max(next.lr * config.lrPlateau.factor, config.lrPlateau.minLr);
    next.plateau.wait = 0;
  }
  const improved = valLoss < next.early.best;
  if (improved) next.early = { best: valLoss, wait: 0, bestEpoch: epoch };
  else next.early.wait++;
  const stop = config.earlyStopping.enabled && next.early.wait >= config.earlyStopping.patience;
  return { state: next, improved, stop };
}

/**
 * The epoch whose weights a finished run exports. Keras 2 restores the best weights only when
 * EarlyStopping ends the run (the notebook ran all its epochs, so it exported the last);
 * restoreBestAlways asks for the best epoch in every case.
 */
export function keptEpoch(
  config: Hyperparams,
  stoppedEarly: boolean,
  bestEpoch: number,
  lastEpoch: number,
): number {
  const { restoreBestWeights, restoreBestAlways } = config.earlyStopping;
  if (bestEpoch < 1) return lastEpoch;
  return (restoreBestWeights && stoppedEarly) || restoreBestAlways ? bestEpoch : lastEpoch;
}

export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { config, data, events = {} } = options;
  const log = events.onLog ?? (() => {});
  const model = buildModel({ dropout: config.dropout, l2: config.l2, seed: config.seed });
  let callbacks: CallbackState = {
    lr: config.learningRate,
    plateau: { best: Number.POSITIVE_INFINITY, wait: 0 },
    early: { best: Number.POSITIVE_INFINITY, wait: 0, bestEpoch: 0 },
  };
  const compiled = compile(model, config);
  const { optimizer, training } = compiled;
  let random = new Random(config.seed);
  let history: EpochMetrics[] = [];
  let bestWeights: tf.Tensor[] | null = null;
  let resumedFrom = 0;
  const hash = configHash(config);

  const checkpoint = options.checkpointDir ? await readCheckpoint<EpochMetrics>(options.checkpointDir) : null;
  if (checkpoint) {
    if (checkpoint.meta.configHash !== hash) {
      throw new Error(
        `${options.checkpointDir} holds a checkpoint of a different config; use another output directory`,
      );
    }
    model.setWeights(checkpoint.tensors.model);
    await optimizer.setWeights(checkpoint.tensors.optimizer);
    callbacks = checkpoint.meta.callbacks;
    setLearningRate(optimizer, callbacks.lr);
    random = new Random(config.seed, checkpoint.meta.random);
    history = checkpoint.meta.history;
    bestWeights = checkpoint.tensors.best;
    resumedFrom = checkpoint.meta.epoch;
    tf.dispose(checkpoint.tensors.model);
    log(`resumed after epoch ${resumedFrom} from ${options.checkpointDir}`);
  }
  await events.onStart?.(model, { resumedFrom });

  const { train } = data;
  const batchSize = config.batchSize;
  const batches = Math.ceil(train.count / batchSize);
  const order = Uint32Array.from({ length: train.count }, (_, i) => i);
  let cancelled = false;
  let stoppedEarly =
    resumedFrom > 0 && config.earlyStopping.enabled && callbacks.early.wait >= config.earlyStopping.patience;

  for (let epoch = resumedFrom + 1; epoch <= config.epochs && !stoppedEarly; epoch++) {
    const started = performance.now();
    random.shuffle(order);
    let seen = 0;
    let lossSum = 0;
    let accuracySum = 0;
    let lrSum = 0;
    for (let b = 0; b < batches; b++) {
      if (config.lrSchedule === "one-cycle") {
        callbacks.lr = oneCycleLr(
          (epoch - 1) * batches + b,
          config.epochs * batches,
          config.learningRate,
          config.warmupFraction,
        );
        setLearningRate(optimizer, callbacks.lr);
      }
      lrSum += callbacks.lr;
      const indices = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, train.count));
      const augmentation = config.augmentation.enabled
        ? {
            transforms: sampleTransforms(random, indices.length, config.augmentation),
            params: config.augmentation,
          }
        : undefined;
      const [loss, accuracy] = await trainBatch(compiled, {
        set: train,
        indices,
        normalizer: data.normalizer,
        augmentation,
      });
      if (options.blockAfterBatchMs) blockThread(options.blockAfterBatchMs);
      if (!Number.isFinite(loss))
        throw new Error(`training diverged: loss is ${loss} at epoch ${epoch}, batch ${b + 1}`);
      seen += indices.length;
      lossSum += loss * indices.length;
      accuracySum += accuracy * indices.length;
      events.onBatch?.({
        epoch,
        batch: b + 1,
        batches,
        loss: lossSum / seen,
        accuracy: accuracySum / seen,
        batchLoss: loss,
        batchAccuracy: accuracy,
        imagesPerSecond: seen / ((performance.now() - started) / 1000),
        time: Date.now(),
      });
      // trainOnBatch resolves in microtasks: without a turn of the event loop, signals and
      // timers (Ctrl-C in `labbook train`) would wait for the epoch's checkpoint write.
      await new Promise((resolve) => setImmediate(resolve));
      if (events.shouldStop?.()) {
        cancelled = true;
        break;
      }
    }
    // Validation, checkpoints and the returned model read the variables.
    compiled.nativeStep?.store();
    if (cancelled) break;
    const trainSeconds = (performance.now() - started) / 1000;
    const validation = await validate(training, data, options.validationBatchSize ?? 256, events.shouldStop);
    if (!validation) {
      cancelled = true;
      break;
    }
    const [valCrossEntropy, valAccuracy] = validation;
    // Keras 2's test_step adds the regularisation losses to val_loss. They come from the
    // compiled logits model: the uncompiled Sequential reports none.
    const valLoss = valCrossEntropy + regularizationPenalty(training);
    const metrics: EpochMetrics = {
      epoch,
      loss: lossSum / seen,
      accuracy: accuracySum / seen,
      valLoss,
      valCrossEntropy,
      valAccuracy,
      // One-cycle changes it every batch: the epoch's mean.
      lr: config.lrSchedule === "one-cycle" ? lrSum / batches : callbacks.lr,
      epochSeconds: (performance.now() - started) / 1000,
      imagesPerSecond: seen / trainSeconds,
      wallTime: new Date().toISOString(),
    };
    history.push(metrics);

    const lrBefore = callbacks.lr;
    const step = applyCallbacks(callbacks, valLoss, epoch, config);
    callbacks = step.state;
    stoppedEarly = step.stop;
    if (
      step.improved &&
      (config.earlyStopping.restoreBestWeights || config.earlyStopping.restoreBestAlways)
    ) {
      tf.dispose(bestWeights ?? []);
      bestWeights = model.getWeights().map((w) => w.clone());
    }
    if (callbacks.lr !== lrBefore) {
      setLearningRate(optimizer, callbacks.lr);
      log(
        `epoch ${epoch}: val loss has not improved for ${config.lrPlateau.patience} epochs; learning rate ${metrics.lr} → ${callbacks.lr}`,
      );
    }
    if (options.checkpointDir) {
      await writeCheckpoint(
        options.checkpointDir,
        {
          version: CHECKPOINT_VERSION,
          configHash: hash,
          epoch,
          callbacks,
          random: random.state(),
          history,
          backend: options.backend,
        },
        { model: model.getWeights(), optimizer: await optimizer.getWeights(), best: bestWeights },
      );
    }
    const every = config.testEvaluationEvery;
    const test =
      every > 0 && epoch % every === 0
        ? await evaluateModel(model, data.test, data.normalizer, { split: "test" })
        : undefined;
    await events.onEpoch?.(metrics, { test });
    if (stoppedEarly)
      log(
        `epoch ${epoch}: early stopping (no val loss improvement for ${config.earlyStopping.patience} epochs)`,
      );
  }

  const lastEpoch = history.at(-1)?.epoch ?? 0;
  const best = callbacks.early.bestEpoch;
  const modelEpoch = cancelled || !bestWeights ? lastEpoch : keptEpoch(config, stoppedEarly, best, lastEpoch);
  if (modelEpoch !== lastEpoch && bestWeights) {
    model.setWeights(bestWeights);
    log(`restored the weights of epoch ${modelEpoch} (best val loss ${callbacks.early.best.toFixed(4)})`);
  } else if (!cancelled && best && best !== lastEpoch) {
    log(
      `the model keeps the weights of its last epoch, ${lastEpoch}; the best val loss was at epoch ${best} (Keras restores it only when early stopping ends the run)`,
    );
  }
  tf.dispose(bestWeights ?? []);
  const test = cancelled ? null : await evaluateModel(model, data.test, data.normalizer, { split: "test" });
  return { model, history, modelEpoch, stoppedEarly, cancelled, resumedFrom, test };
}

/** Σ of the model's regularisation losses (L2 · Σ‖W‖² over the conv kernels) at its current weights. */
export function regularizationPenalty(model: tf.LayersModel): number {
  return tf.tidy(() => {
    const losses = (model as unknown as { calculateLosses(): tf.Scalar[] }).calculateLosses();
    return losses.length ? (tf.addN(losses).dataSync()[0] as number) : 0;
  });
}

/** Blocks the calling thread without spinning (Atomics.wait sleeps). */
function blockThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Validation loss and accuracy, or null when `shouldStop` asked to stop midway. */
async function validate(
  model: tf.LayersModel,
  data: PreparedData,
  batchSize: number,
  shouldStop?: () => boolean,
): Promise<[number, number] | null> {
  const { validation } = data;
  let lossSum = 0;
  let accuracySum = 0;
  for (let start = 0; start < validation.count; start += batchSize) {
    if (shouldStop?.()) return null;
    const indices = Array.from(
      { length: Math.min(batchSize, validation.count - start) },
      (_, i) => start + i,
    );
    const x = batchTensor(validation, indices, data.normalizer);
    const y = oneHotLabels(validation, indices);
    const result = model.evaluate(x, y, { batchSize }) as tf.Scalar[];
    const [loss, accuracy] = await Promise.all(result.map((r) => r.data()));
    lossSum += (loss?.[0] as number) * indices.length;
    accuracySum += (accuracy?.[0] as number) * indices.length;
    tf.dispose([x, y, ...result]);
  }
  return [lossSum / validation.count, accuracySum / validation.count];
}
