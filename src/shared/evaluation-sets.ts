// Evaluation sets: the user's own labelled images, for the API, the forms and the CLI.
import { z } from "zod";
import { dbId } from "./ids";

export const EVALUATION_SET_LIMITS = {
  images: 20_000,
  uncompressedBytes: 200 * 1024 * 1024,
  /** Files and folders in the archive, to bound the work of reading its directory. */
  entries: 50_000,
  /** The upload itself: images barely compress, so about the uncompressed limit. */
  uploadBytes: 210 * 1024 * 1024,
} as const;

export const evaluationSetNameSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters")
  .regex(/^[^\p{Cc}]+$/u, "must not contain control characters");

export const EVALUATION_BATCH = 128;

export const evaluationSetByIdSchema = z.object({ id: dbId });
export const evaluationSetScoreSchema = z.object({
  setId: dbId,
  versionIds: z.array(dbId).min(1, "name at least one version").max(100, "at most 100 versions at once"),
});
export const setEvaluationSchema = z.object({ setId: dbId, versionId: dbId });

const classIndex = z.number().int().min(0).max(1_000);
/** One misclassified image of an evaluation set. */
export const setMisclassifiedSchema = z.object({
  index: z.number().int().min(0),
  label: classIndex,
  predicted: classIndex,
  probabilities: z.array(z.number()),
  file: z.string(),
});
export type SetMisclassified = z.output<typeof setMisclassifiedSchema>;

/** What `labbook evaluate` reads of evaluationSet.get's answer, checked before it is used. */
export const evaluationSetProgressSchema = z.object({
  name: z.string(),
  status: z.string(),
  error: z.string().nullable(),
  total: z.number().int().min(0),
  imported: z.number().int().min(0),
  skipped: z.array(z.object({ file: z.string(), reason: z.string() })),
  evaluations: z.array(
    z.object({
      versionId: dbId,
      status: z.string(),
      error: z.string().nullable(),
      done: z.number().int().min(0),
      total: z.number().int().min(0),
    }),
  ),
});

/** POST /api/evaluation-sets' answer. */
export const evaluationSetCreatedSchema = z.object({ id: dbId, name: z.string(), existing: z.boolean() });
