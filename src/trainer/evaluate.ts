// The test-set evaluation: predictions in batches, scored by the shared metrics.
import * as tf from "@tensorflow/tfjs";
import { type Evaluation, scorePredictions } from "../shared/scoring";
import { batchTensor } from "./batches";
import type { ImageSet } from "./data/cifar10";
import type { Normalizer } from "./data/prepare";

/** Predicts `set` in batches and scores it. */
export async function evaluateModel(
  model: tf.LayersModel,
  set: ImageSet,
  normalizer: Normalizer,
  options: { batchSize?: number; split?: string } = {},
): Promise<Evaluation> {
  const batchSize = options.batchSize ?? 256;
  const probabilities = new Float32Array(set.count * 10);
  for (let start = 0; start < set.count; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i);
    const batch = batchTensor(set, indices, normalizer);
    // As one batch: predict would otherwise split it into batches of 32.
    const out = model.predict(batch, { batchSize }) as tf.Tensor;
    probabilities.set(await out.data(), start * 10);
    tf.dispose([batch, out]);
  }
  return scorePredictions(probabilities, set.labels, 10, options.split ?? "test");
}
