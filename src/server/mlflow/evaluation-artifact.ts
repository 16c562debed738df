// An MLflow run that logs `evaluation.json` in the form the README documents gets Labbook's
// evaluation view (confusion matrix, per-class precision/recall/F1, compare's matrix diff):
//
//   {"classes": ["airplane", ...], "confusion_matrix": [[...], ...], "loss": 0.41, "split": "test"}
//
// Classes are matched to CIFAR-10's as evaluation sets match folders (any case, plurals,
// synonyms such as car = automobile), and the matrix is reordered into CIFAR-10's order.
import { z } from "zod";
import type { Db } from "@/server/db/client";
import { storeEvaluation } from "@/server/services/evaluations";
import { CLASS_NAMES } from "@/shared/cifar10-classes";
import { DEFAULT_SYNONYMS, resolveClass } from "@/shared/class-synonyms";
import { classMetrics } from "@/shared/scoring";

export const EVALUATION_ARTIFACT = "evaluation.json";

const evaluationFileSchema = z.object({
  classes: z.array(z.string().max(100)).length(CLASS_NAMES.length, {
    error: `classes must name CIFAR-10's ${CLASS_NAMES.length} classes`,
  }),
  confusion_matrix: z
    .array(z.array(z.number().int().min(0).max(1e9)).length(CLASS_NAMES.length))
    .length(CLASS_NAMES.length, {
      error: `confusion_matrix must be ${CLASS_NAMES.length}×${CLASS_NAMES.length}`,
    }),
  loss: z.number().refine(Number.isFinite).optional(),
  split: z.string().min(1).max(40).default("test"),
});

/** Why the file cannot be shown, or null once its evaluation is stored. */
export async function importEvaluationArtifact(db: Db, runId: number, bytes: Buffer): Promise<string | null> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    return "it is not JSON";
  }
  const parsed = evaluationFileSchema.safeParse(json);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ");
  const file = parsed.data;
  const order = file.classes.map((name) => resolveClass(name, CLASS_NAMES, DEFAULT_SYNONYMS));
  const unknown = file.classes.filter((_, i) => order[i] === null);
  if (unknown.length) return `classes ${unknown.join(", ")} are not CIFAR-10 classes`;
  const index = order.map((name) => CLASS_NAMES.indexOf(name as (typeof CLASS_NAMES)[number]));
  if (new Set(index).size !== index.length) return "classes name a CIFAR-10 class twice";
  // matrix[true][predicted], both in CIFAR-10's order.
  const matrix = CLASS_NAMES.map(() => CLASS_NAMES.map(() => 0));
  file.confusion_matrix.forEach((row, i) => {
    row.forEach((count, j) => {
      (matrix[index[i] as number] as number[])[index[j] as number] = count;
    });
  });
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((sum, row, i) => sum + (row[i] as number), 0);
  await storeEvaluation(db, runId, {
    split: file.split,
    epoch: 0,
    count: total,
    loss: file.loss ?? Number.NaN,
    accuracy: total ? correct / total : 0,
    confusionMatrix: matrix,
    perClass: classMetrics(matrix),
    misclassified: [],
  });
  return null;
}
