// Classification metrics from predicted probabilities: loss, accuracy, confusion matrix,
// per-class precision/recall/F1, and the misclassified samples. Shared by the trainer's test
// evaluation and the server's evaluation sets.
import { z } from "zod";

/** One class's row of a report; a schema, so that clients can check what a server sends. */
export const classMetricsSchema = z.object({
  class: z.number().int().min(0).max(1_000),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number(),
});
export type ClassMetrics = z.output<typeof classMetricsSchema>;

export interface Misclassified {
  index: number;
  label: number;
  predicted: number;
  probabilities: number[];
}

export interface Evaluation {
  split: string;
  count: number;
  loss: number;
  accuracy: number;
  /** confusionMatrix[trueClass][predictedClass] */
  confusionMatrix: number[][];
  perClass: ClassMetrics[];
  misclassified: Misclassified[];
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Metrics from row-major [n, classes] probabilities and the true labels. */
export function scorePredictions(
  probabilities: Float32Array,
  labels: ArrayLike<number>,
  classes = 10,
  split = "test",
): Evaluation {
  const n = labels.length;
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const misclassified: Misclassified[] = [];
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    let predicted = 0;
    for (let c = 1; c < classes; c++) if ((row[c] as number) > (row[predicted] as number)) predicted = c;
    const label = labels[i] as number;
    lossSum -= Math.log(Math.max(row[label] as number, 1e-7));
    const counts = matrix[label] as number[];
    counts[predicted] = (counts[predicted] as number) + 1;
    if (predicted === label) correct++;
    else misclassified.push({ index: i, label, predicted, probabilities: Array.from(row, round4) });
  }
  return {
    split,
    count: n,
    loss: n ? lossSum / n : 0,
    accuracy: n ? correct / n : 0,
    confusionMatrix: matrix,
    perClass: classMetrics(matrix),
    misclassified,
  };
}

/** Per-class precision, recall and F1 from a confusion matrix (matrix[true][predicted]). */
export function classMetrics(matrix: number[][]): ClassMetrics[] {
  return matrix.map((row, c) => {
    const truePositive = row[c] as number;
    const support = row.reduce((a, b) => a + b, 0);
    const predictedCount = matrix.reduce((sum, r) => sum + (r[c] as number), 0);
    const precision = predictedCount ? truePositive / predictedCount : 0;
    const recall = support ? truePositive / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: c, precision, recall, f1, support };
  });
}
