// Scores model versions on an evaluation set in the background: the set's prepared images go
// through the prediction thread in batches (the version's own normalisation applied there),
// and the shared metrics make the same report as the test set's.
import { type Db, poolOf } from "@/server/db/client";
import { modelBytes, predictor } from "@/server/predict/predictor";
import { ConflictError, NotFoundError } from "@/shared/errors";
import { EVALUATION_BATCH } from "@/shared/evaluation-sets";
import { scorePredictions } from "@/shared/scoring";
import { enqueue } from "./background";

const PIXELS = 32 * 32 * 3;
/** Misclassified images kept per evaluation, with their probabilities. */
const MAX_MISCLASSIFIED = 2_000;

/** Queues (again) the scoring of each version on the set. */
export async function queueSetEvaluations(
  db: Db,
  setId: number,
  versionIds: number[],
  actor: string,
): Promise<{ id: number; versionId: number }[]> {
  const set = await db.evaluationSet.findUnique({ where: { id: setId } });
  if (!set) throw new NotFoundError(`evaluation set ${setId} does not exist`);
  if (set.status !== "ready")
    throw new ConflictError(
      `evaluation set "${set.name}" is ${set.status === "importing" ? "still importing" : "not usable (its import failed)"}`,
    );
  const versions = await db.modelVersion.findMany({
    where: { id: { in: versionIds } },
    select: { id: true },
  });
  const missing = versionIds.filter((id) => !versions.some((v) => v.id === id));
  if (missing.length > 0) throw new NotFoundError(`model version id ${missing.join(", ")} does not exist`);
  const queued = [];
  for (const versionId of versionIds) {
    const reset = {
      status: "queued",
      error: null,
      done: 0,
      total: set.imported,
      loss: null,
      accuracy: null,
      finishedAt: null,
      createdBy: actor,
    };
    const row = await db.setEvaluation.upsert({
      where: { setId_versionId: { setId, versionId } },
      create: { setId, versionId, ...reset },
      update: { ...reset, createdAt: new Date() },
      select: { id: true, versionId: true },
    });
    enqueue(`score:${row.id}`, () => scoreSet(db, row.id));
    queued.push(row);
  }
  return queued;
}

/** Queues again the scorings a server restart interrupted. */
export async function resumeSetEvaluations(db: Db): Promise<void> {
  const pool = poolOf(db);
  await pool.query(
    `UPDATE "EvaluationSet" SET status = 'failed', error = 'the server stopped during the import; upload the images again'
     WHERE status = 'importing'`,
  );
  const { rows } = await pool.query<{ id: number }>(
    `SELECT id FROM "SetEvaluation" WHERE status IN ('queued', 'running') ORDER BY id`,
  );
  for (const { id } of rows) enqueue(`score:${id}`, () => scoreSet(db, id));
}

async function scoreSet(db: Db, evaluationId: number): Promise<void> {
  const pool = poolOf(db);
  const row = await db.setEvaluation.findUnique({
    where: { id: evaluationId },
    include: { version: { select: { id: true, runId: true } }, set: { select: { imported: true } } },
  });
  if (!row) return;
  try {
    await pool.query(`UPDATE "SetEvaluation" SET status = 'running', done = 0, total = $2 WHERE id = $1`, [
      evaluationId,
      row.set.imported,
    ]);
    const model = () => modelBytes(db, row.version);
    const probabilities: Float32Array[] = [];
    const labels: string[] = [];
    const files: string[] = [];
    let classNames: string[] = [];
    for (let start = 0; ; start += EVALUATION_BATCH) {
      const { rows: images } = await pool.query<{ file: string; label: string; pixels: Buffer }>(
        `SELECT file, label, pixels FROM "EvaluationImage" WHERE "setId" = $1 AND index >= $2 ORDER BY index LIMIT $3`,
        [row.setId, start, EVALUATION_BATCH],
      );
      if (images.length === 0) break;
      const pixels = new Float32Array(images.length * PIXELS);
      const bytes = new Uint8Array(pixels.buffer);
      for (const [i, image] of images.entries()) bytes.set(image.pixels, i * PIXELS * 4);
      const result = await predictor().classify(row.versionId, pixels, images.length, model);
      classNames = result.classNames;
      probabilities.push(result.probabilities);
      for (const image of images) {
        labels.push(image.label);
        files.push(image.file);
      }
      await pool.query(`UPDATE "SetEvaluation" SET done = $2 WHERE id = $1`, [evaluationId, labels.length]);
    }
    const labelIndex = labels.map((label) => {
      const index = classNames.indexOf(label);
      if (index < 0)
        throw new Error(`this version has no class "${label}" (its classes: ${classNames.join(", ")})`);
      return index;
    });
    const all = new Float32Array(labels.length * classNames.length);
    let offset = 0;
    for (const part of probabilities) {
      all.set(part, offset);
      offset += part.length;
    }
    const report = scorePredictions(all, labelIndex, classNames.length, "set");
    const misclassified = report.misclassified
      .slice(0, MAX_MISCLASSIFIED)
      .map((m) => ({ ...m, file: files[m.index] ?? "" }));
    await pool.query(
      `UPDATE "SetEvaluation" SET status = 'done', loss = $2, accuracy = $3, "confusionMatrix" = $4::jsonb,
         "perClass" = $5::jsonb, misclassified = $6::jsonb, "finishedAt" = now() WHERE id = $1`,
      [
        evaluationId,
        report.loss,
        report.accuracy,
        JSON.stringify(report.confusionMatrix),
        JSON.stringify(report.perClass),
        JSON.stringify(misclassified),
      ],
    );
  } catch (error) {
    console.error(`scoring evaluation ${evaluationId} failed:`, error);
    await pool.query(
      `UPDATE "SetEvaluation" SET status = 'failed', error = $2, "finishedAt" = now() WHERE id = $1`,
      [evaluationId, (error as Error).message],
    );
  }
}
