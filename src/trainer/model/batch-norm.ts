// tfjs' BatchNormalization layer, training through one native kernel and its gradient where the
// backend has them (wasm with Labbook's addon), and through tfjs' own ops elsewhere. It is saved
// and loaded as the stock layer: the class name and config are the same.
import * as tf from "@tensorflow/tfjs";
import { batchNormInTraining, hasBatchNormTraining } from "../backend/native-batchnorm";

type LayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];

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

// The class behind tf.layers.batchNormalization, which tfjs does not export by name.
const registered = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
if (!registered) throw new Error("tfjs has no BatchNormalization layer registered");
const StockBatchNormalization = registered[0] as unknown as new (args?: LayerArgs) => tf.layers.Layer;

class NativeTrainingBatchNormalization extends StockBatchNormalization {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const layer = this as unknown as BatchNormFields;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
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

export function batchNormalization(args?: LayerArgs): tf.layers.Layer {
  return new NativeTrainingBatchNormalization(args);
}
