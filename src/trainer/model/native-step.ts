// A whole training step of a chain of the native layers (the seed network) as calls into
// Labbook's addon, without tfjs' engine: forward, the loss, backward and the optimizer, on
// buffers of its own. Through tfjs the same step runs ~280 kernels, and the engine's
// bookkeeping between them (tapes, tensors, the layers' JS) took 10-13 ms a step on one thread,
// which a second core cannot share. The arithmetic is the layers' and optimizers' own kernels,
// so the two paths agree (test/helpers/native-step-suite.ts). While it trains, the step holds
// the weights, BatchNorm's statistics and the optimizer's state; store() writes them back into
// the model's and the optimizer's variables, where checkpoints, validation and export read them.
import * as tf from "@tensorflow/tfjs";
import { geometryOf, installedNativeKernels } from "../backend/native-conv";
import type { NativeKernels } from "../backend/native-module";
import {
  type AdamSettings,
  adamStepValues,
  addsDecay,
  type MomentumSettings,
  momentumStepValues,
} from "../backend/native-optimizers";
import { dropoutSeed } from "../backend/native-regularizers";
import { convInfo, poolInfo } from "../backend/wasm-kernels";
import { l2InOptimizer, nativeBatchNorm, nativeConv2D, nativeDropoutRate } from "./native-layers";

/** A trainable variable's value, gradient and optimizer slots (Adam's m and v, or momentum's accumulation). */
class Param {
  value: Float32Array;
  next: Float32Array;
  readonly gradient: Float32Array;
  slots: Float32Array[];
  nextSlots: Float32Array[];

  constructor(
    readonly variable: tf.LayerVariable,
    slotCount: number,
    /** 2 · l2 where the optimizer adds the L2 penalty's gradient. */
    readonly decay: number,
  ) {
    const size = tf.util.sizeFromShape(variable.shape as number[]);
    this.value = new Float32Array(size);
    this.next = new Float32Array(size);
    this.gradient = new Float32Array(size);
    this.slots = Array.from({ length: slotCount }, () => new Float32Array(size));
    this.nextSlots = Array.from({ length: slotCount }, () => new Float32Array(size));
  }

  /** After the optimizer wrote into next and nextSlots. */
  swap(): void {
    [this.value, this.next] = [this.next, this.value];
    [this.slots, this.nextSlots] = [this.nextSlots, this.slots];
  }
}

type Timer = (name: string, run: () => void) => void;

/** One layer's forward and backward passes on the step's buffers, for batches up to the largest. */
interface Stage {
  forward(x: Float32Array, n: number, time: Timer): Float32Array;
  /** The gradient with respect to the input; null when `inputGradient` is false. */
  backward(dy: Float32Array, n: number, inputGradient: boolean, time: Timer): Float32Array | null;
}

const perImage = (shape: (number | null)[]) => shape.slice(1).reduce<number>((a, b) => a * (b as number), 1);

/** Geometries for each batch size: the last batch of an epoch is smaller. */
function geometries(make: (n: number) => Int32Array | null): (n: number) => Int32Array {
  const cache = new Map<number, Int32Array>();
  return (n) => {
    let geometry = cache.get(n);
    if (!geometry) {
      geometry = make(n) ?? undefined;
      if (!geometry) throw new Error("no native geometry for this layer");
      cache.set(n, geometry);
    }
    return geometry;
  };
}

/** relu(conv(x) + bias), or a dense layer as a 1×1 convolution of the flat input without the ReLU. */
class ConvStage implements Stage {
  private x: Float32Array = new Float32Array(0);
  private readonly y: Float32Array;
  private readonly outSize: number;
  private readonly channels: number;

  constructor(
    private readonly native: NativeKernels,
    private readonly geometry: (n: number) => Int32Array,
    private readonly kernel: Param,
    private readonly bias: Param | null,
    private readonly relu: boolean,
    private readonly scratch: Scratch,
    outShape: (number | null)[],
    maxBatch: number,
  ) {
    this.outSize = perImage(outShape);
    this.channels = outShape.at(-1) as number;
    this.y = new Float32Array(maxBatch * this.outSize);
  }

  forward(x: Float32Array, n: number, time: Timer): Float32Array {
    this.x = x;
    const y = this.y.subarray(0, n * this.outSize);
    time("Conv2D", () =>
      this.native.conv2d(this.geometry(n), x, this.kernel.value, this.bias?.value ?? null, this.relu, y, -1),
    );
    return y;
  }

  backward(dy: Float32Array, n: number, inputGradient: boolean, time: Timer): Float32Array | null {
    const size = n * this.outSize;
    let masked = dy;
    if (this.relu) {
      masked = this.scratch.besides(dy, size);
      const dbias = this.bias?.gradient ?? new Float32Array(this.channels);
      time("ReluBiasGrad", () =>
        this.native.reluBiasGrad(this.channels, dy, this.y.subarray(0, size), masked, dbias),
      );
    } else if (this.bias) {
      const dbias = this.bias.gradient.fill(0);
      for (let i = 0; i < size; i++) (dbias[i % this.channels] as number) += dy[i] as number;
    }
    const geometry = this.geometry(n);
    time("Conv2DBackpropFilter", () =>
      this.native.conv2dBackpropFilter(geometry, this.x, masked, this.kernel.gradient),
    );
    if (!inputGradient) return null;
    const dx = this.scratch.besides(masked, this.x.length);
    time("Conv2DBackpropInput", () =>
      this.native.conv2dBackpropInput(geometry, masked, this.kernel.value, dx),
    );
    return dx;
  }
}

/** BatchNorm with the batch's statistics, updating the moving ones as the layer does. */
class BatchNormStage implements Stage {
  private x: Float32Array = new Float32Array(0);
  private readonly y: Float32Array;
  private readonly mean: Float32Array;
  private readonly variance: Float32Array;

  constructor(
    private readonly native: NativeKernels,
    private readonly scratch: Scratch,
    private readonly gamma: Param,
    private readonly beta: Param,
    private readonly moving: { mean: Float32Array; variance: Float32Array },
    private readonly momentum: number,
    private readonly epsilon: number,
    size: number,
    maxBatch: number,
  ) {
    this.y = new Float32Array(maxBatch * size);
    this.mean = new Float32Array(gamma.value.length);
    this.variance = new Float32Array(gamma.value.length);
  }

  forward(x: Float32Array, _n: number, time: Timer): Float32Array {
    this.x = x;
    const y = this.y.subarray(0, x.length);
    const channels = this.gamma.value.length;
    time("BatchNormTraining", () => {
      this.native.batchNormTraining(
        channels,
        x,
        this.gamma.value,
        this.beta.value,
        this.epsilon,
        y,
        this.mean,
        this.variance,
      );
      this.native.movingAverage(this.momentum, this.moving.mean, this.mean, this.moving.mean);
      this.native.movingAverage(this.momentum, this.moving.variance, this.variance, this.moving.variance);
    });
    return y;
  }

  backward(dy: Float32Array, _n: number, _inputGradient: boolean, time: Timer): Float32Array {
    const dx = this.scratch.besides(dy, dy.length);
    time("BatchNormTrainingGrad", () =>
      this.native.batchNormTrainingGrad(
        this.gamma.value.length,
        dy,
        this.x,
        this.mean,
        this.variance,
        this.gamma.value,
        this.epsilon,
        dx,
        this.gamma.gradient,
        this.beta.gradient,
      ),
    );
    return dx;
  }
}

class MaxPoolStage implements Stage {
  private x: Float32Array = new Float32Array(0);
  private readonly y: Float32Array;

  constructor(
    private readonly native: NativeKernels,
    private readonly scratch: Scratch,
    private readonly geometry: (n: number) => Int32Array,
    private readonly outSize: number,
    maxBatch: number,
  ) {
    this.y = new Float32Array(maxBatch * outSize);
  }

  forward(x: Float32Array, n: number, time: Timer): Float32Array {
    this.x = x;
    const y = this.y.subarray(0, n * this.outSize);
    time("MaxPool", () => this.native.maxPool(this.geometry(n), x, y));
    return y;
  }

  backward(dy: Float32Array, n: number, _inputGradient: boolean, time: Timer): Float32Array {
    const dx = this.scratch.besides(dy, this.x.length);
    time("MaxPoolGrad", () => this.native.maxPoolGrad(this.geometry(n), this.x, dy, dx));
    return dx;
  }
}

/** Dropout: the mask is drawn from a fresh seed each step, and drawn again from it backwards. */
class DropoutStage implements Stage {
  private seed = 0;
  private readonly y: Float32Array;

  constructor(
    private readonly native: NativeKernels,
    private readonly scratch: Scratch,
    private readonly rate: number,
    size: number,
    maxBatch: number,
  ) {
    this.y = new Float32Array(maxBatch * size);
  }

  forward(x: Float32Array, _n: number, time: Timer): Float32Array {
    if (this.rate === 0) return x;
    this.seed = dropoutSeed();
    const y = this.y.subarray(0, x.length);
    // The mask is not kept (backwards draws it again): the backward pass's scratch holds it.
    const mask = this.scratch.besides(x, x.length);
    time("Dropout", () => this.native.dropout(this.rate, this.seed, x, y, mask));
    return y;
  }

  backward(dy: Float32Array, _n: number, _inputGradient: boolean, time: Timer): Float32Array {
    if (this.rate === 0) return dy;
    const dx = this.scratch.besides(dy, dy.length);
    // dy · mask: the kernel draws the same mask from the same seed. Its output, y, was read for
    // the last time by the next layer's backward pass: it holds the mask now.
    const mask = this.y.subarray(0, dy.length);
    time("Dropout", () => this.native.dropout(this.rate, this.seed, dy, dx, mask));
    return dx;
  }
}

/**
 * The backward pass's two buffers: each layer reads its output's gradient from one and writes
 * its input's into the other, where no later layer reads; one pair, sized for the largest
 * layer, instead of a gradient buffer per layer (about 80 MB at batch 64 for the seed network).
 */
class Scratch {
  private readonly buffers: [Float32Array, Float32Array];

  constructor(size: number) {
    this.buffers = [new Float32Array(size), new Float32Array(size)];
  }

  /** `size` floats of the buffer that `input` is not in. */
  besides(input: Float32Array, size: number): Float32Array {
    const [a, b] = this.buffers;
    return (input.buffer === a.buffer ? b : a).subarray(0, size);
  }
}

/** What a step took, by kernel (bench-trainer's breakdown). */
export type StepProfile = Map<string, { ms: number; calls: number }>;

export class NativeTrainingStep {
  private loaded = false;
  private iterations = 0;
  /** β^t for Adam's bias corrections, in float32 as tfjs keeps them. */
  private accBeta1 = 0;
  private accBeta2 = 0;
  /** Set to a map to time each kernel of the following steps (it slows them a little). */
  profile: StepProfile | null = null;

  private constructor(
    private readonly native: NativeKernels,
    private readonly stages: Stage[],
    private readonly params: Param[],
    private readonly movingStats: { variable: tf.LayerVariable; value: Float32Array }[],
    private readonly penalties: { param: Param; l2: number }[],
    private readonly optimizer: OptimizerFields,
    private readonly state: OptimizerState,
    private readonly smoothing: number,
    private readonly dLogits: Float32Array,
    /** Floats per input image. */
    private readonly inputSize: number,
    private readonly maxBatch: number,
    private readonly classes: number,
  ) {}

  /**
   * The native step for `model` (compiled with `optimizer`, the loss softmax cross-entropy from
   * logits with `smoothing`) for batches of up to `maxBatch`, or null when a layer, the
   * optimizer or the backend has no native case: then tfjs' trainOnBatch trains it.
   */
  static for(
    model: tf.LayersModel,
    optimizer: tf.Optimizer,
    smoothing: number,
    maxBatch: number,
  ): NativeTrainingStep | null {
    const native = installedNativeKernels();
    if (!native || tf.getBackend() !== "wasm" || !addsDecay(optimizer)) return null;
    const fields = optimizer as unknown as OptimizerFields;
    // By class name: tfjs' Optimizer answers instanceof by duck typing, true for every optimizer.
    const className = optimizer.getClassName();
    const state: OptimizerState | null =
      className === "Adam"
        ? {
            kind: "adam",
            slotFields: ["accumulatedFirstMoment", "accumulatedSecondMoment"],
            suffixes: ["m", "v"],
          }
        : className === "Momentum"
          ? { kind: "momentum", slotFields: ["accumulations"], suffixes: ["momentum"] }
          : null;
    if (!state) return null;

    const params = new Map<string, Param>();
    const param = (variable: tf.LayerVariable) => {
      const made = new Param(variable, state.slotFields.length, optimizer.decays.get(variable.name) ?? 0);
      params.set(variable.name, made);
      return made;
    };
    // Every layer's input and output fit: the largest activation of the model at maxBatch.
    const largest = Math.max(...model.layers.map((layer) => perImage(layer.outputShape as number[])));
    const scratch = new Scratch(maxBatch * largest);
    const stages: Stage[] = [];
    const movingStats: { variable: tf.LayerVariable; value: Float32Array }[] = [];
    const penalties: { param: Param; l2: number }[] = [];
    let outShape = model.inputs[0]?.shape as number[];
    for (const layer of model.layers) {
      const inShape = outShape;
      outShape = layer.outputShape as number[];
      const inSize = perImage(inShape);
      const outSize = perImage(outShape);
      const className = layer.getClassName();
      const extras = layer as unknown as Record<string, unknown>;
      const unsupported = ["biasRegularizer", "activityRegularizer", "kernelConstraint", "biasConstraint"];
      if (unsupported.some((name) => extras[name] != null)) return null;
      const l2 = extras.kernelRegularizer != null ? l2InOptimizer(extras.kernelRegularizer) : 0;
      if (l2 === null) return null;
      const conv = className === "Conv2D" ? nativeConv2D(layer) : null;
      const dense = className === "Dense" ? (layer as unknown as DenseFields) : null;
      if (className === "InputLayer" || className === "Flatten") continue;
      if (conv) {
        const kernel = param(conv.kernel);
        const attrs = { strides: conv.strides, pad: conv.padding, dilations: [1, 1] };
        const geometry = geometries((n) =>
          geometryOf(convInfo([n, ...inShape.slice(1)], conv.kernel.shape as number[], attrs)),
        );
        stages.push(
          new ConvStage(native, geometry, kernel, param(conv.bias), true, scratch, outShape, maxBatch),
        );
        if (l2 > 0) penalties.push({ param: kernel, l2 });
      } else if (dense && dense.activation.getClassName() === "linear" && inShape.length === 2) {
        // A dense layer is a 1×1 convolution of a 1×1 image with the inputs as channels: its
        // [inputs, units] kernel is that convolution's HWIO filter.
        const kernel = param(dense.kernel);
        const geometry = geometries((n) =>
          Int32Array.from([n, 1, 1, inSize, 1, 1, outSize, 1, 1, 1, 1, 0, 0]),
        );
        const bias = dense.bias ? param(dense.bias) : null;
        stages.push(new ConvStage(native, geometry, kernel, bias, false, scratch, outShape, maxBatch));
        if (l2 > 0) penalties.push({ param: kernel, l2 });
      } else if (className === "BatchNormalization") {
        const bn = nativeBatchNorm(layer, inShape.length);
        if (!bn) return null;
        const mean = new Float32Array(bn.movingMean.shape[0] as number);
        const variance = new Float32Array(mean.length);
        movingStats.push(
          { variable: bn.movingMean, value: mean },
          { variable: bn.movingVariance, value: variance },
        );
        const moving = { mean, variance };
        stages.push(
          new BatchNormStage(
            native,
            scratch,
            param(bn.gamma),
            param(bn.beta),
            moving,
            bn.momentum,
            bn.epsilon,
            inSize,
            maxBatch,
          ),
        );
      } else if (className === "MaxPooling2D") {
        const pool = layer as unknown as PoolFields;
        if (pool.dataFormat !== "channelsLast") return null;
        const attrs = { filterSize: pool.poolSize, strides: pool.strides, pad: pool.padding };
        const geometry = geometries((n) => geometryOf(poolInfo([n, ...inShape.slice(1)], attrs)));
        stages.push(new MaxPoolStage(native, scratch, geometry, outSize, maxBatch));
      } else if (className === "Dropout") {
        const rate = nativeDropoutRate(layer);
        if (rate === null) return null;
        stages.push(new DropoutStage(native, scratch, rate, inSize, maxBatch));
      } else return null;
    }
    const lastLayer = model.layers.at(-1);
    if (lastLayer?.getClassName() !== "Dense") return null;
    const classes = perImage(lastLayer.outputShape as number[]);
    // Every trainable variable must be a stage's: the optimizer's slots follow their order.
    const ordered = model.trainableWeights.map((w) => params.get(w.name));
    if (ordered.length !== params.size || ordered.some((p) => !p)) return null;
    const dLogits = new Float32Array(maxBatch * classes);
    return new NativeTrainingStep(
      native,
      stages,
      ordered as Param[],
      movingStats,
      penalties,
      fields,
      state,
      smoothing,
      dLogits,
      perImage(model.inputs[0]?.shape ?? []),
      maxBatch,
      classes,
    );
  }

  private readonly time: Timer = (name, run) => {
    const profile = this.profile;
    if (!profile) return run();
    const started = performance.now();
    run();
    const entry = profile.get(name) ?? { ms: 0, calls: 0 };
    entry.ms += performance.now() - started;
    entry.calls++;
    profile.set(name, entry);
  };

  /**
   * Trains on `n` normalised NHWC images `x` with one-hot `labels` ([n, 10]): the mean loss
   * (with the L2 penalties, at the weights before the step) and the accuracy, as trainOnBatch
   * reports them.
   */
  train(x: Float32Array, labels: Float32Array, n: number): [number, number] {
    if (!(n >= 1 && n <= this.maxBatch))
      throw new Error(`a batch holds 1 to ${this.maxBatch} images here, not ${n}`);
    if (x.length !== n * this.inputSize)
      throw new Error(`a batch of ${n} images needs ${n * this.inputSize} floats, not ${x.length}`);
    if (labels.length !== n * this.classes)
      throw new Error(
        `a batch of ${n} images needs ${n * this.classes} one-hot labels, not ${labels.length}`,
      );
    if (!this.loaded) this.load();
    let activations = x;
    for (const stage of this.stages) activations = stage.forward(activations, n, this.time);
    const [loss, accuracy] = this.softmaxCrossEntropy(activations, labels, n);
    let penalty = 0;
    this.time("L2Penalty", () => {
      for (const { param, l2 } of this.penalties) penalty += l2 * this.native.sumOfSquares(param.value);
    });
    let gradient: Float32Array | null = this.dLogits.subarray(0, n * this.classes);
    for (let i = this.stages.length - 1; i >= 0 && gradient; i--)
      gradient = (this.stages[i] as Stage).backward(gradient, n, i > 0, this.time);
    this.time("Optimizer", () => this.applyGradients());
    return [Math.fround(Math.fround(loss) + Math.fround(penalty)), accuracy];
  }

  /** The mean loss and accuracy, and the loss's gradient with respect to the logits in dLogits. */
  private softmaxCrossEntropy(logits: Float32Array, labels: Float32Array, n: number): [number, number] {
    const s = this.smoothing;
    const classes = this.classes;
    let lossSum = 0;
    let correct = 0;
    const probabilities = new Float64Array(classes);
    for (let i = 0; i < n; i++) {
      const row = i * classes;
      let max = Number.NEGATIVE_INFINITY;
      let predicted = 0;
      let truth = 0;
      for (let c = 0; c < classes; c++) {
        const value = logits[row + c] as number;
        if (value > max) {
          max = value;
          predicted = c;
        }
        if ((labels[row + c] as number) > (labels[row + truth] as number)) truth = c;
      }
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        probabilities[c] = Math.exp((logits[row + c] as number) - max);
        sum += probabilities[c] as number;
      }
      const logSum = Math.log(sum);
      for (let c = 0; c < classes; c++) {
        const target = (labels[row + c] as number) * (1 - s) + s / classes;
        lossSum -= target * ((logits[row + c] as number) - max - logSum);
        this.dLogits[row + c] = ((probabilities[c] as number) / sum - target) / n;
      }
      if (predicted === truth) correct++;
    }
    return [lossSum / n, correct / n];
  }

  private applyGradients(): void {
    const o = this.optimizer;
    this.iterations++;
    for (const p of this.params) {
      if (this.state.kind === "adam") {
        const step = Float32Array.from(adamStepValues(o, this.accBeta1, this.accBeta2, p.decay));
        const [m, v] = p.slots as [Float32Array, Float32Array];
        const [newM, newV] = p.nextSlots as [Float32Array, Float32Array];
        this.native.adam(step, p.value, m, v, p.gradient, p.next, newM, newV);
      } else {
        const step = Float32Array.from(momentumStepValues(o, p.decay));
        this.native.momentum(
          step,
          p.value,
          p.slots[0] as Float32Array,
          p.gradient,
          p.next,
          p.nextSlots[0] as Float32Array,
        );
      }
      p.swap();
    }
    if (this.state.kind === "adam") {
      this.accBeta1 = Math.fround(this.accBeta1 * o.beta1);
      this.accBeta2 = Math.fround(this.accBeta2 * o.beta2);
    }
  }

  /** Takes the weights, BatchNorm's statistics and the optimizer's state from their variables. */
  private load(): void {
    const slotLists = this.slotLists();
    this.params.forEach((p, i) => {
      p.value.set(p.variable.read().dataSync() as Float32Array);
      p.slots.forEach((slot, k) => {
        const held = slotLists[k]?.[i];
        if (held) slot.set(held.variable.dataSync() as Float32Array);
        else slot.fill(0);
      });
    });
    for (const { variable, value } of this.movingStats) value.set(variable.read().dataSync() as Float32Array);
    this.iterations = this.optimizer.iterations;
    if (this.state.kind === "adam") {
      this.accBeta1 = this.optimizer.accBeta1.dataSync()[0] as number;
      this.accBeta2 = this.optimizer.accBeta2.dataSync()[0] as number;
    }
    this.loaded = true;
  }

  /**
   * Writes the weights, BatchNorm's statistics and the optimizer's state back into the model's
   * and the optimizer's variables (as tfjs' own step leaves them); the next step takes them
   * again. A no-op when no step ran since the last store.
   */
  store(): void {
    if (!this.loaded) return;
    const slotLists = this.slotLists();
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const shape = p.variable.shape as number[];
        p.variable.write(tf.tensor(p.value, shape));
        p.slots.forEach((slot, k) => {
          const list = slotLists[k] as { originalName: string; variable: tf.Variable }[];
          const held = list[i];
          if (held) held.variable.assign(tf.tensor(slot, shape));
          else
            list[i] = {
              originalName: `${p.variable.name}/${this.state.suffixes[k]}`,
              variable: tf.keep(tf.tensor(slot, shape).variable(false)),
            };
        });
      });
      for (const { variable, value } of this.movingStats)
        variable.write(tf.tensor(value, variable.shape as number[]));
      if (this.state.kind === "adam") {
        this.optimizer.accBeta1.assign(tf.scalar(this.accBeta1));
        this.optimizer.accBeta2.assign(tf.scalar(this.accBeta2));
      }
    });
    this.optimizer.iterations_ = this.iterations;
    this.loaded = false;
  }

  private slotLists() {
    return this.state.slotFields.map((field) => {
      this.optimizer[field] ??= [];
      return this.optimizer[field];
    });
  }
}

interface OptimizerState {
  kind: "adam" | "momentum";
  /** The optimizer's fields that hold its slot variables, one list per slot, in trainable order. */
  slotFields: ("accumulatedFirstMoment" | "accumulatedSecondMoment" | "accumulations")[];
  /** tfjs names each slot variable `${variable}/${suffix}`. */
  suffixes: string[];
}

/** The tfjs optimizers' private fields this reads and writes. */
interface OptimizerFields extends AdamSettings, MomentumSettings {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  iterations_: number;
  readonly iterations: number;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  accumulations: { originalName: string; variable: tf.Variable }[];
}

interface DenseFields {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { getClassName(): string };
}

interface PoolFields {
  poolSize: [number, number];
  strides: [number, number];
  padding: "same" | "valid";
  dataFormat: string;
}
