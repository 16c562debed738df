// Stores an uploaded archive as an evaluation set: checked and labelled first (nothing is
// stored when that fails), then its images decoded and preprocessed in the prediction thread,
// in batches, in the background, with the count imported so far on the set's row.
import { createHash } from "node:crypto";
import { Prisma } from "@/generated/prisma/client";
import { type Db, poolOf } from "@/server/db/client";
import { predictor } from "@/server/predict/predictor";
import { ConflictError } from "@/shared/errors";
import { EVALUATION_BATCH } from "@/shared/evaluation-sets";
import { type ArchivePlan, planArchive, readEntry } from "./archive";
import { enqueue } from "./background";
import { queueSetEvaluations } from "./score-set";

export interface NewEvaluationSet {
  name: string;
  description: string;
  archive: Buffer;
  classNames: readonly string[];
  synonyms: Record<string, string>;
  actor: string;
  /** Model version ids to score on the set once it is imported. */
  scoreAfter?: number[];
}

export interface CreatedSet {
  id: number;
  name: string;
  /** The same archive was uploaded before: its set is reused. */
  existing: boolean;
}

export async function createEvaluationSet(db: Db, input: NewEvaluationSet): Promise<CreatedSet> {
  const sha256 = createHash("sha256").update(input.archive).digest("hex");
  const same = await db.evaluationSet.findUnique({
    where: { sha256 },
    select: { id: true, name: true, status: true },
  });
  if (same && same.status !== "failed") {
    if (same.status === "ready" && input.scoreAfter?.length)
      await queueSetEvaluations(db, same.id, input.scoreAfter, input.actor);
    return { id: same.id, name: same.name, existing: true };
  }
  // A failed import of the same archive is replaced.
  if (same) await db.evaluationSet.delete({ where: { id: same.id } });
  if (await db.evaluationSet.findUnique({ where: { name: input.name }, select: { id: true } }))
    throw new ConflictError(
      `an evaluation set named "${input.name}" already exists with other images; choose another name`,
    );
  const plan = await planArchive(input.archive, input.classNames, input.synonyms);
  let set: { id: number; name: string };
  try {
    set = await db.evaluationSet.create({
      data: {
        name: input.name,
        description: input.description,
        sha256,
        total: plan.images.length,
        mapping: plan.mapping,
        skipped: plan.skipped,
        createdBy: input.actor,
      },
      select: { id: true, name: true },
    });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
      throw new ConflictError(`an evaluation set named "${input.name}" already exists`);
    throw error;
  }
  enqueue(`import:${set.id}`, async () => {
    if ((await importImages(db, set.id, plan)) && input.scoreAfter?.length)
      await queueSetEvaluations(db, set.id, input.scoreAfter, input.actor);
  });
  return { ...set, existing: false };
}

/** Whether the set is ready. */
async function importImages(db: Db, setId: number, plan: ArchivePlan): Promise<boolean> {
  const pool = poolOf(db);
  const skipped = [...plan.skipped];
  let stored = 0;
  try {
    for (let start = 0; start < plan.images.length; start += EVALUATION_BATCH) {
      const batch = plan.images.slice(start, start + EVALUATION_BATCH);
      const bytes: Uint8Array[] = [];
      for (const image of batch) bytes.push(new Uint8Array(await readEntry(plan.zip, image.entry)));
      const prepared = await predictor().prepare(bytes);
      const rows: unknown[] = [];
      prepared.forEach((result, i) => {
        const image = batch[i];
        if (!image) return;
        if (!result.ok) {
          skipped.push({ file: image.file, reason: result.message });
          return;
        }
        const pixels = Buffer.from(result.pixels.buffer, result.pixels.byteOffset, result.pixels.byteLength);
        rows.push(setId, stored++, image.file, image.label, pixels, Buffer.from(result.thumbnail));
      });
      if (rows.length > 0) {
        const values = Array.from(
          { length: rows.length / 6 },
          (_, r) => `(${Array.from({ length: 6 }, (_, c) => `$${r * 6 + c + 1}`).join(", ")})`,
        );
        await pool.query(
          `INSERT INTO "EvaluationImage" ("setId", index, file, label, pixels, thumbnail) VALUES ${values.join(", ")}`,
          rows,
        );
      }
      await pool.query(`UPDATE "EvaluationSet" SET imported = $2, skipped = $3::jsonb WHERE id = $1`, [
        setId,
        stored,
        JSON.stringify(skipped),
      ]);
    }
    const error =
      stored === 0 ? `none of the ${plan.images.length} labelled files could be read as an image` : null;
    await pool.query(`UPDATE "EvaluationSet" SET status = $2, error = $3 WHERE id = $1`, [
      setId,
      error ? "failed" : "ready",
      error,
    ]);
    return !error;
  } catch (error) {
    console.error(`importing evaluation set ${setId} failed:`, error);
    await pool.query(`DELETE FROM "EvaluationImage" WHERE "setId" = $1`, [setId]);
    await pool.query(`UPDATE "EvaluationSet" SET status = 'failed', imported = 0, error = $2 WHERE id = $1`, [
      setId,
      `the import stopped: ${(error as Error).message}`,
    ]);
    return false;
  } finally {
    plan.zip.close();
  }
}
