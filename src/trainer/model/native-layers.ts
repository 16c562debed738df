// tfjs' Conv2D and BatchNormalization layers, training through Labbook's fused native kernels
// where the backend has them (wasm with Labbook's addon), and through tfjs' own ops elsewhere.
// They save and load as the stock layers: the class names and configs are the same.
import * as tf from "@tensorflow/tfjs";
import { batchNormInTraining, hasBatchNormTraining } from "../backend/native-batchnorm";
import { convBiasRelu, hasConvBiasRelu } from "../backend/native-conv-relu";

type BatchNormArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

/** A layer class tfjs registers for deserialisation but does not export by name. */
function stockLayer<Args>(className: string): new (args: Args) => tf.layers.Layer {
  const registered = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!registered) throw new Error(`tfjs has no ${className} layer registered`);
  return registered[0] as unknown as new (
    args: Args,
  ) => tf.layers.Layer;
}

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

class NativeBatchNormalization extends stockLayer<BatchNormArgs>("BatchNormalization") {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const layer = this as unknown as BatchNormFields;
    const x = single(inputs);
    const { gamma, beta } = layer;
    const lastAxis = x !== undefined && (layer.axis === -1 || layer.axis === x.rank - 1);
    if (
      !kwargs.training ||
      !x ||
      !lastAxis ||
      !gamma ||
      !beta ||
      x.dtype !== "float32" ||
      !hasBatchNormTraining()
    )
      return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const [y, mean, variance] = batchNormInTraining(x, gamma.read(), beta.read(), layer.epsilon);
      // The stock layer's update: moving ← moving − (moving − batch) · (1 − momentum).
      for (const [moving, batch] of [
        [layer.movingMean, mean],
        [layer.movingVariance, variance],
      ] as const) {
        const old = moving.read();
        moving.write(old.sub(old.sub(batch).mul(1 - layer.momentum)));
      }
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

class NativeConv2D extends stockLayer<Conv2DArgs>("Conv2D") {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const layer = this as unknown as Conv2DFields;
    const x = single(inputs);
    const { bias } = layer;
    if (
      !x ||
      x.rank !== 4 ||
      x.dtype !== "float32" ||
      !bias ||
      layer.activation.getClassName() !== "relu" ||
      layer.dataFormat !== "channelsLast" ||
      layer.dilationRate.some((rate) => rate !== 1) ||
      (layer.padding !== "same" && layer.padding !== "valid") ||
      !hasConvBiasRelu()
    )
      return super.call(inputs, kwargs);
    return tf.tidy(() =>
      convBiasRelu(
        x as tf.Tensor4D,
        layer.kernel.read() as tf.Tensor4D,
        bias.read() as tf.Tensor1D,
        layer.strides,
        layer.padding as "same" | "valid",
      ),
    );
  }
}

export const batchNormalization = (args?: BatchNormArgs): tf.layers.Layer =>
  new NativeBatchNormalization(args);
export const conv2d = (args: Conv2DArgs): tf.layers.Layer => new NativeConv2D(args);
