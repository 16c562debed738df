// Test-set evaluations: the confusion matrix, per-class metrics and every misclassified image
// (thousands of rows of probabilities). Stored and read through pg as JSON text: Prisma
// encoded and decoded these values in JavaScript, blocking the server for most of a second
// per evaluation, long enough to delay the workers' heartbeats.
import type { z } from "zod";
import { type Db, inPoolTransaction, poolOf } from "@/server/db/client";
import { ConflictError, NotFoundError } from "@/shared/errors";
import type { evaluationSchema } from "@/shared/workers";

type EvaluationInput = z.output<typeof evaluationSchema>;

const UPSERT_SQL = `
  INSERT INTO "Evaluation" ("runId", split, epoch, loss, accuracy, "confusionMatrix", "perClass", misclassified)
  VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb)
  ON CONFLICT ("runId", split, epoch) DO UPDATE SET
    loss = EXCLUDED.loss, accuracy = EXCLUDED.accuracy, "confusionMatrix" = EXCLUDED."confusionMatrix",
    "perClass" = EXCLUDED."perClass", misclassified = EXCLUDED.misclassified`;

/**
 * Stores a run's evaluation; the final test one (epoch 0) also fills the run's test columns.
 * With `workerId`, only while that worker holds the run (running, its lease).
 */
export async function storeEvaluation(
  db: Db,
  runId: number,
  evaluation: EvaluationInput,
  workerId?: number,
): Promise<void> {
  const { split, epoch, loss, accuracy, confusionMatrix, perClass, misclassified } = evaluation;
  await inPoolTransaction(db, async (client) => {
    const { rows } = await client.query<{ status: string; workerId: number | null }>(
      `SELECT status::text, "workerId" FROM "Run" WHERE id = $1 AND "deletedAt" IS NULL FOR KEY SHARE`,
      [runId],
    );
    const run = rows[0];
    if (!run) throw new NotFoundError(`run ${runId} does not exist`);
    if (workerId !== undefined && (run.status !== "running" || run.workerId !== workerId))
      throw new ConflictError(`worker ${workerId} does not hold run ${runId}`);
    await client.query(UPSERT_SQL, [
      runId,
      split,
      epoch,
      loss,
      accuracy,
      JSON.stringify(confusionMatrix),
      JSON.stringify(perClass),
      JSON.stringify(misclassified),
    ]);
    if (split === "test" && epoch === 0)
      await client.query(
        `UPDATE "Run" SET "testAccuracy" = $2, "testLoss" = $3, "updatedAt" = now() WHERE id = $1`,
        [runId, accuracy, loss],
      );
  });
}

export interface StoredEvaluation {
  id: number;
  runId: number;
  split: string;
  epoch: number;
  loss: number;
  accuracy: number;
  confusionMatrix: number[][];
  perClass: { class: number; precision: number; recall: number; f1: number; support: number }[];
  misclassified: { index: number; label: number; predicted: number; probabilities: number[] }[];
  createdAt: Date;
}

export async function readEvaluation(
  db: Db,
  runId: number,
  split: string,
  epoch: number,
): Promise<StoredEvaluation> {
  const { rows } = await poolOf(db).query<StoredEvaluation>(
    `SELECT id, "runId", split, epoch, loss, accuracy, "confusionMatrix", "perClass", misclassified, "createdAt"
     FROM "Evaluation" e
     WHERE "runId" = $1 AND split = $2 AND epoch = $3
       AND EXISTS (SELECT 1 FROM "Run" r WHERE r.id = e."runId" AND r."deletedAt" IS NULL)`,
    [runId, split, epoch],
  );
  const evaluation = rows[0];
  if (!evaluation)
    throw new NotFoundError(`run ${runId} has no ${split} evaluation${epoch ? ` after epoch ${epoch}` : ""}`);
  return evaluation;
}
