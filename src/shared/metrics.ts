// Metric points as trainers report them, shared by the API and trainer-side clients.
import { z } from "zod";
import { dbId } from "./ids";

/** Keys the trainer reports every epoch; the run's summary columns are derived from the val_* ones. */
export const EPOCH_METRIC_KEYS = {
  loss: "loss",
  accuracy: "accuracy",
  /** As Keras reports it: cross-entropy plus the L2 penalty; what the callbacks monitor. */
  valLoss: "val_loss",
  /** The validation cross-entropy alone. */
  valCrossEntropy: "val_crossentropy",
  valAccuracy: "val_accuracy",
  lr: "lr",
  epochSeconds: "epoch_seconds",
  imagesPerSecond: "images_per_second",
} as const;

/** Batch-level curves: batch n of epoch e is logged at step (e - 1) × batches + n. */
export const BATCH_METRIC_KEYS = {
  loss: "batch/loss",
  accuracy: "batch/accuracy",
  /** Logged once per run at step 0, to place batch steps on the epoch axis. */
  batchesPerEpoch: "batches_per_epoch",
} as const;

export const MAX_POINTS_PER_BATCH = 10_000;

export const metricPointSchema = z.object({
  key: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(200, { error: "must be at most 200 characters" })
    .regex(/^[A-Za-z0-9_./-]+$/, { error: "may hold only letters, digits, _ . / -" }),
  step: z
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(0, { error: "must be ≥ 0" })
    .max(2 ** 31 - 1, { error: "must be < 2^31" }),
  value: z
    .number({ error: "must be a finite number" })
    .refine(Number.isFinite, { error: "must be a finite number" }),
  /** When the value was measured (ISO 8601); defaults to when the server stores it. */
  wallTime: z.iso.datetime({ error: "must be an ISO 8601 time" }).optional(),
});
export type MetricPointInput = z.input<typeof metricPointSchema>;

export const metricBatchSchema = z.object({
  runId: dbId,
  points: z
    .array(metricPointSchema)
    .min(1, { error: "must hold at least one point" })
    .max(MAX_POINTS_PER_BATCH, { error: `must hold at most ${MAX_POINTS_PER_BATCH} points` }),
});

/**
 * Keys as they may be read: the trainer's, and any an MLflow client logged (MLflow's rule:
 * letters, digits, _ - . / and spaces, as Python's \w counts letters, up to 250 characters).
 */
export const MLFLOW_KEY_PATTERN = /^[/\p{L}\p{N}\p{M}_.\- ]*$/u;
const metricKeySchema = z
  .string()
  .min(1, { error: "must not be empty" })
  .max(250, { error: "must be at most 250 characters" })
  .regex(MLFLOW_KEY_PATTERN, { error: "may hold only letters, digits, _ - . / and spaces" });

export const runIdsSchema = z.object({
  runIds: z
    .array(dbId)
    .min(1, { error: "must list at least one run" })
    .max(100, { error: "must list at most 100 runs" }),
});

export const metricHistorySchema = runIdsSchema.extend({
  keys: z.array(metricKeySchema).min(1).max(50),
  /** Buckets per series; the server keeps each bucket's mean, min and max. */
  maxPoints: z.number().int().min(10).max(5000).default(500),
});
