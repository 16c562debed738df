// The seed notebook's VGG-style CNN: four blocks of two 3×3 convolutions (32, 64, 128, 256
// filters, same padding, ReLU, L2), each followed by BatchNorm, then max-pool and dropout.
import * as tf from "@tensorflow/tfjs";
import { batchNormalization, conv2d, dropout, l2 } from "./native-layers";

export const INPUT_SHAPE: [number, number, number] = [32, 32, 3];
export const BLOCK_FILTERS = [32, 64, 128, 256] as const;

/** The dense layer whose output is the logits; a softmax layer follows it. */
export const LOGITS_LAYER = "predictions";

export interface ModelOptions {
  dropout: number[];
  l2: number;
  seed: number;
}

export function buildModel(options: ModelOptions): tf.Sequential {
  const model = tf.sequential({ name: "labbook_vgg" });
  let layerSeed = options.seed;
  const initializer = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  BLOCK_FILTERS.forEach((filters, block) => {
    for (let conv = 0; conv < 2; conv++) {
      model.add(
        conv2d({
          ...(block === 0 && conv === 0 ? { inputShape: INPUT_SHAPE } : {}),
          name: `block${block + 1}_conv${conv + 1}`,
          filters,
          kernelSize: 3,
          padding: "same",
          activation: "relu",
          kernelInitializer: initializer(),
          kernelRegularizer: options.l2 > 0 ? l2({ l2: options.l2 }) : undefined,
        }),
      );
      model.add(batchNormalization({ name: `block${block + 1}_bn${conv + 1}` }));
    }
    model.add(tf.layers.maxPooling2d({ name: `block${block + 1}_pool`, poolSize: 2 }));
    // Unseeded on purpose: a seeded tfjs dropout layer reuses one mask for every batch.
    model.add(dropout({ name: `block${block + 1}_dropout`, rate: options.dropout[block] ?? 0 }));
  });
  model.add(tf.layers.flatten({ name: "flatten" }));
  model.add(tf.layers.dense({ name: LOGITS_LAYER, units: 10, kernelInitializer: initializer() }));
  model.add(tf.layers.softmax({ name: "probabilities" }));
  return model;
}

/**
 * The same layers up to the logits, for training: the loss is taken from logits, as Keras does
 * for a softmax output. tfjs' cross-entropy clips probabilities instead, so a saturated softmax
 * has no gradient and the network stops learning at high learning rates.
 */
export function logitsModel(model: tf.LayersModel): tf.LayersModel {
  return tf.model({
    inputs: model.inputs,
    outputs: model.getLayer(LOGITS_LAYER).output as tf.SymbolicTensor,
  });
}

export interface LayerSummary {
  name: string;
  type: string;
  outputShape: (number | null)[];
  params: number;
  trainable: number;
}

/** Per layer: name, type, output shape and parameter counts (what model.summary() prints). */
export function layerSummary(model: tf.LayersModel): {
  layers: LayerSummary[];
  total: number;
  trainable: number;
} {
  const count = (weights: tf.LayerVariable[]) =>
    weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    type: layer.getClassName(),
    outputShape: layer.outputShape as (number | null)[],
    params: count(layer.weights),
    trainable: count(layer.trainableWeights),
  }));
  return {
    layers,
    total: layers.reduce((n, l) => n + l.params, 0),
    trainable: layers.reduce((n, l) => n + l.trainable, 0),
  };
}
