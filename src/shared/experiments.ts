// Input schemas for experiments and runs, shared by the API and the dashboard forms.
import { z } from "zod";
import { hyperparamsObjectSchema, hyperparamsSchema, NORMALIZATIONS, seedListSchema } from "./hyperparams";
import { dbId, experimentIdSchema, MAX_DB_INT } from "./ids";
import { randomSearchSchema } from "./random-search";
import { RUN_STATUSES } from "./run-status";

const id = dbId;

export const experimentNameSchema = z
  .string({ error: "must be text" })
  .trim()
  .min(1, { error: "must not be empty" })
  .max(120, { error: "must be at most 120 characters" });

/** One config to queue, once per seed (default: the config's own seed). */
export const runSpecSchema = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  config: hyperparamsSchema.prefault({}),
  seeds: seedListSchema.optional(),
  priority: z.number().int().min(-1000).max(1000).default(0),
  maxAttempts: z.number().int().min(1).max(20).default(3),
});
export type RunSpecInput = z.input<typeof runSpecSchema>;

export const experimentCreateSchema = z.object({
  name: experimentNameSchema,
  description: z.string().max(5000, { error: "must be at most 5000 characters" }).default(""),
  runs: z.array(runSpecSchema).max(200, { error: "must list at most 200 run specs" }).default([]),
  /** Queues the search's sampled configs too, and records the search with the experiment. */
  search: randomSearchSchema.optional(),
});

export const experimentListSchema = z.object({
  includeArchived: z.boolean().default(false),
  search: z.string().trim().max(120).optional(),
  limit: z.number().int().min(1).max(200).default(50),
  cursor: id.optional(),
});

export const experimentRenameSchema = z.object({ id: experimentIdSchema, name: experimentNameSchema });
export const experimentArchiveSchema = z.object({
  id: experimentIdSchema,
  archived: z.boolean().default(true),
});
export const byIdSchema = z.object({ id });
export const experimentByIdSchema = z.object({ id: experimentIdSchema });

export const runCreateSchema = runSpecSchema.extend({ experimentId: experimentIdSchema });

/** Columns a runs list may be sorted by. */
/** The run's summary metric columns, kept up to date as epochs and the test evaluation arrive. */
export const RUN_SUMMARY_METRICS = [
  "bestValAccuracy",
  "bestValLoss",
  "lastValAccuracy",
  "lastValLoss",
  "testAccuracy",
  "testLoss",
] as const;

export const RUN_SORT_FIELDS = [
  "id",
  "createdAt",
  "name",
  "status",
  "normalization",
  "learningRate",
  "batchSize",
  "epochs",
  "seed",
  "l2",
  "lrPlateauPatience",
  "lrPlateauFactor",
  "lrPlateauMin",
  "earlyStoppingPatience",
  "priority",
  "epochsDone",
  ...RUN_SUMMARY_METRICS,
  "startedAt",
  "finishedAt",
] as const;
export type RunSortField = (typeof RUN_SORT_FIELDS)[number];

const rangeOf = (bound: z.ZodNumber) =>
  z
    .object({ gte: bound.optional(), lte: bound.optional() })
    .refine((r) => r.gte === undefined || r.lte === undefined || r.gte <= r.lte, {
      error: "gte must be ≤ lte",
    });
const range = rangeOf(z.number());
/** Integer columns are int4: a bound past it is a 400, not a database error. */
const intRange = rangeOf(
  z
    .number()
    .min(-MAX_DB_INT - 1, { error: `must be at least ${-MAX_DB_INT - 1}` })
    .max(MAX_DB_INT, { error: `must be at most ${MAX_DB_INT}` }),
);

/** Numeric hyperparameter columns a runs list may be filtered on by range. */
export const RUN_RANGE_FILTERS = [
  "learningRate",
  "batchSize",
  "epochs",
  "seed",
  "l2",
  "lrPlateauPatience",
  "lrPlateauFactor",
  "lrPlateauMin",
  "earlyStoppingPatience",
] as const;

export const runListSchema = z.object({
  experimentId: experimentIdSchema.optional(),
  /** true lists the soft-deleted runs (the bin) instead of the live ones. */
  deleted: z.boolean().default(false),
  status: z.array(z.enum(RUN_STATUSES)).optional(),
  normalization: z.array(z.enum(NORMALIZATIONS)).optional(),
  augmentation: z.boolean().optional(),
  dropout: hyperparamsObjectSchema.shape.dropout.unwrap().optional(),
  learningRate: range.optional(),
  batchSize: intRange.optional(),
  epochs: intRange.optional(),
  seed: intRange.optional(),
  l2: range.optional(),
  lrPlateauPatience: intRange.optional(),
  lrPlateauFactor: range.optional(),
  lrPlateauMin: range.optional(),
  earlyStoppingPatience: intRange.optional(),
  sort: z
    .object({
      field: z.enum(RUN_SORT_FIELDS).default("createdAt"),
      dir: z.enum(["asc", "desc"]).default("desc"),
    })
    .prefault({}),
  limit: z.number().int().min(1).max(500).default(50),
  /** The nextCursor of the previous page. */
  cursor: z.string().max(500).optional(),
});
export type RunListInput = z.input<typeof runListSchema>;

export const runIdListSchema = z.object({
  ids: z
    .array(id)
    .min(1, { error: "must list at least one run" })
    .max(500, { error: "must list at most 500 runs" }),
});
export const runDeleteSchema = runIdListSchema.extend({ deleted: z.boolean().default(true) });
export const runPurgeSchema = z.object({ experimentId: experimentIdSchema.optional() });
export const runLogsSchema = z.object({
  id,
  /** The id of the last log line already shown (ids are strings: they may exceed 2^53). */
  after: z
    .string()
    .regex(/^\d{1,19}$/, { error: "must be a log line id" })
    .refine((v) => BigInt(v) <= 2n ** 63n - 1n, { error: "must be a log line id" })
    .optional(),
});
export const runEvaluationSchema = z.object({
  id,
  split: z.string().min(1).max(40).default("test"),
  /** 0: the final evaluation; n: after epoch n. */
  epoch: z.number().int().min(0).max(MAX_DB_INT).default(0),
});
