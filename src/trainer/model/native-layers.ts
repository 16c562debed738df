// tfjs' Conv2D, BatchNormalization and Dropout layers and its L2 regularizer, training through
// Labbook's native kernels where the backend has them (wasm with Labbook's addon), and through
// tfjs' own ops elsewhere. They save and load as the stock classes: names and configs are the same.
import * as tf from "@tensorflow/tfjs";
import { batchNormInTraining, hasBatchNormTraining, movingAverages } from "../backend/native-batchnorm";
import { convBiasRelu, hasConvBiasRelu } from "../backend/native-conv-relu";
import { addsDecay } from "../backend/native-optimizers";
import {
  dropoutInTraining,
  hasNativeRegularizers,
  l2Penalty,
  l2PenaltyValue,
} from "../backend/native-regularizers";

type BatchNormArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];
type DropoutArgs = Parameters<typeof tf.layers.dropout>[0];
type L2Args = Parameters<typeof tf.regularizers.l2>[0];
type L1L2Args = Parameters<typeof tf.regularizers.l1l2>[0];
type Regularizer = ReturnType<typeof tf.regularizers.l1l2>;
/** The concrete L1L2 class behind tfjs' abstract Regularizer type. */
interface StockL1L2 {
  apply(x: tf.Tensor): tf.Scalar;
  getConfig(): tf.serialization.ConfigDict;
}

/** A class tfjs registers for deserialisation but does not export by name. */
function stockClass<Args, Base>(className: string): new (args: Args) => Base {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!registered) throw new Error(`tfjs has no ${className} class registered`);
  return registered[0] as unknown as new (
    args: Args,
  ) => Base;
}
const stockLayer = <Args>(className: string) => stockClass<Args, tf.layers.Layer>(className);

const single = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs);

/** The stock layer's fields this reads (private in tfjs' typings). */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** The layer's fields when it normalises in training through the native kernel (rank-`rank` input), else null. */
export function nativeBatchNorm(layer: tf.layers.Layer, rank: number): NativeBatchNormFields | null {
  if (!(layer instanceof NativeBatchNormalization) || !hasBatchNormTraining()) return null;
  const fields = layer as unknown as BatchNormFields;
  const { gamma, beta } = fields;
  const lastAxis = fields.axis === -1 || fields.axis === rank - 1;
  return lastAxis && gamma && beta ? (fields as NativeBatchNormFields) : null;
}

type NativeBatchNormFields = BatchNormFields & { gamma: tf.LayerVariable; beta: tf.LayerVariable };

class NativeBatchNormalization extends stockLayer<BatchNormArgs>("BatchNormalization") {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = single(inputs);
    const layer = x && x.dtype === "float32" && kwargs.training ? nativeBatchNorm(this, x.rank) : null;
    if (!x || !layer) return super.call(inputs, kwargs);
    const { gamma, beta } = layer;
    return tf.tidy(() => {
      const [y, mean, variance] = batchNormInTraining(x, gamma.read(), beta.read(), layer.epsilon);
      const [movingMean, movingVariance] = movingAverages(
        { mean: layer.movingMean.read(), variance: layer.movingVariance.read() },
        { mean, variance },
        layer.momentum,
      );
      layer.movingMean.write(movingMean);
      layer.movingVariance.write(movingVariance);
      return y;
    });
  }
}

interface Conv2DFields {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { getClassName(): string };
  strides: [number, number];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
}

type NativeConv2DFields = Conv2DFields & { bias: tf.LayerVariable; padding: "same" | "valid" };

/** The layer's fields when it computes relu(conv + bias) through the native kernel, else null. */
export function nativeConv2D(layer: tf.layers.Layer): NativeConv2DFields | null {
  if (!(layer instanceof NativeConv2D) || !hasConvBiasRelu()) return null;
  const fields = layer as unknown as Conv2DFields;
  const native =
    fields.bias &&
    fields.activation.getClassName() === "relu" &&
    fields.dataFormat === "channelsLast" &&
    fields.dilationRate.every((rate) => rate === 1) &&
    (fields.padding === "same" || fields.padding === "valid");
  return native ? (fields as NativeConv2DFields) : null;
}

class NativeConv2D extends stockLayer<Conv2DArgs>("Conv2D") {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = single(inputs);
    const layer = x && x.rank === 4 && x.dtype === "float32" ? nativeConv2D(this) : null;
    if (!x || !layer) return super.call(inputs, kwargs);
    return tf.tidy(() =>
      convBiasRelu(
        x as tf.Tensor4D,
        layer.kernel.read() as tf.Tensor4D,
        layer.bias.read() as tf.Tensor1D,
        layer.strides,
        layer.padding,
      ),
    );
  }
}

interface DropoutFields {
  rate: number;
  noiseShape: unknown;
  seed: unknown;
}

/**
 * The rate the layer drops at in training through the native kernel: 0 when it passes its input
 * through (rate 0), null outside the native case.
 */
export function nativeDropoutRate(layer: tf.layers.Layer): number | null {
  if (!(layer instanceof NativeDropout) || !hasNativeRegularizers()) return null;
  const { rate, noiseShape, seed } = layer as unknown as DropoutFields;
  if (noiseShape != null || seed != null || !(rate >= 0 && rate < 1)) return null;
  return rate;
}

class NativeDropout extends stockLayer<DropoutArgs>("Dropout") {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = single(inputs);
    const rate = x && x.dtype === "float32" && kwargs.training ? nativeDropoutRate(this) : null;
    if (!x || !rate) return super.call(inputs, kwargs);
    return dropoutInTraining(x, rate);
  }
}

interface L1L2Fields {
  l1: number;
  l2: number;
}

/** The L2 factor of a kernel regularizer whose gradient the optimizer adds (takeL2Gradients): null if it does not. */
export function l2InOptimizer(regularizer: unknown): number | null {
  if (!(regularizer instanceof NativeL2) || !regularizer.gradientInOptimizer) return null;
  return (regularizer as unknown as L1L2Fields).l2;
}

class NativeL2 extends stockClass<L1L2Args, StockL1L2>("L1L2") {
  /** Whether the optimizer adds this penalty's gradient (takeL2Gradients): then the penalty is a value. */
  gradientInOptimizer = false;

  override apply(x: tf.Tensor): tf.Scalar {
    const { l1, l2 } = this as unknown as L1L2Fields;
    if (l1 !== 0 || x.dtype !== "float32" || !hasNativeRegularizers()) return super.apply(x);
    return this.gradientInOptimizer ? l2PenaltyValue(x, l2) : l2Penalty(x, l2);
  }
}

/**
 * Hands the gradients of `model`'s L2 kernel penalties to `optimizer` where it adds them itself
 * (Labbook's native optimizers, as decay · value); the penalties still join the loss, as values
 * off the tape. Elsewhere they keep their gradients through the tape.
 */
export function takeL2Gradients(model: tf.LayersModel, optimizer: tf.Optimizer): void {
  const handsOver = addsDecay(optimizer);
  const decays = new Map<string, number>();
  for (const layer of model.layers) {
    const { kernel, kernelRegularizer } = layer as unknown as {
      kernel?: tf.LayerVariable;
      kernelRegularizer?: unknown;
    };
    if (!(kernelRegularizer instanceof NativeL2) || !kernel) continue;
    const { l1, l2 } = kernelRegularizer as unknown as L1L2Fields;
    kernelRegularizer.gradientInOptimizer = handsOver && l1 === 0;
    if (kernelRegularizer.gradientInOptimizer) decays.set(kernel.name, 2 * l2);
  }
  if (handsOver) optimizer.decays = decays;
}

export const batchNormalization = (args?: BatchNormArgs): tf.layers.Layer =>
  new NativeBatchNormalization(args);
export const conv2d = (args: Conv2DArgs): tf.layers.Layer => new NativeConv2D(args);
export const dropout = (args: DropoutArgs): tf.layers.Layer => new NativeDropout(args);
/** The L2 penalty l2 · Σ w², saved as tfjs' L1L2 with l1 = 0 (what tf.regularizers.l2 makes). */
export const l2 = (args: L2Args): Regularizer => new NativeL2({ l1: 0, ...args }) as unknown as Regularizer;
