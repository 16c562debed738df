// Inputs of the worker protocol, shared by the API and workers.
import { z } from "zod";
import { dbId } from "./ids";

const id = dbId;

/** How many skipped backends a worker reports, and how long each reason may be. */
export const SKIPPED_BACKENDS = { count: 20, reasonLength: 500 } as const;

/** The machine a worker runs on, shown on the run page: flat and bounded, never free-form JSON. */
export const workerInfoSchema = z.object({
  cpus: z.number().int().min(0).max(100_000).optional(),
  cpuModel: z.string().max(200).optional(),
  memoryGb: z.number().int().min(0).max(1_000_000).optional(),
  platform: z.string().max(100).optional(),
  node: z.string().max(40).optional(),
  gpu: z.string().max(200).optional(),
  skippedBackends: z
    .array(z.string().max(SKIPPED_BACKENDS.reasonLength))
    .max(SKIPPED_BACKENDS.count)
    .optional(),
});
export type WorkerInfo = z.output<typeof workerInfoSchema>;

export const workerRegisterSchema = z.object({
  name: z.string().trim().min(1).max(120),
  host: z.string().trim().min(1).max(255),
  backend: z.string().trim().min(1).max(60),
  info: workerInfoSchema.default({}),
});

export const workerClaimSchema = z.object({
  workerId: id,
  leaseMs: z.number().int().min(5_000).max(3_600_000).optional(),
});
/** Where the current epoch stands, for the run page's progress bar and ETA. */
export const runProgressSchema = z.object({
  epoch: z.number().int().min(1),
  batch: z.number().int().min(0),
  batches: z.number().int().min(1),
  imagesPerSecond: z.number().min(0).refine(Number.isFinite, { error: "must be a finite number" }),
});
export type RunProgress = z.output<typeof runProgressSchema>;

export const workerHeartbeatSchema = z.object({
  workerId: id,
  runId: id,
  leaseMs: z.number().int().min(5_000).max(3_600_000).optional(),
  progress: runProgressSchema.optional(),
});
export const workerReleaseSchema = z.object({ workerId: id, runId: id });

export const workerFinishSchema = z.object({
  workerId: id,
  runId: id,
  status: z.enum(["succeeded", "failed", "cancelled"]),
  error: z.string().max(20_000).optional(),
  /** The epoch whose weights the uploaded model holds. */
  modelEpoch: z.number().int().min(1).max(10_000).optional(),
});

const rate = z.number().min(0).max(1);
export const evaluationSchema = z.object({
  split: z.string().min(1).max(40).default("test"),
  /** 0: the final evaluation of the kept weights; n ≥ 1: after epoch n. */
  epoch: z.number().int().min(0).default(0),
  count: z.number().int().min(0),
  loss: z.number().refine(Number.isFinite, { error: "must be a finite number" }),
  accuracy: rate,
  confusionMatrix: z.array(z.array(z.number().int().min(0)).length(10)).length(10),
  perClass: z
    .array(
      z.object({
        class: z.number().int().min(0).max(9),
        precision: rate,
        recall: rate,
        f1: rate,
        support: z.number().int().min(0),
      }),
    )
    .length(10),
  misclassified: z
    .array(
      z.object({
        index: z.number().int().min(0),
        label: z.number().int().min(0).max(9),
        predicted: z.number().int().min(0).max(9),
        probabilities: z.array(z.number()).length(10),
      }),
    )
    .max(60_000),
});

export const workerEvaluationSchema = z.object({ workerId: id, runId: id, evaluation: evaluationSchema });

export const workerLogSchema = z.object({
  runId: id,
  lines: z
    .array(
      z.object({
        level: z.enum(["debug", "info", "warn", "error"]).default("info"),
        message: z.string().max(20_000),
        time: z.iso.datetime().optional(),
      }),
    )
    .min(1)
    .max(1000),
});

/* Replies of the worker protocol: a worker checks each against these before using it (a
   server, or anyone on a plain-http path, must not steer a worker's file paths). */
export const workerRegisteredSchema = z.object({ id });
export const claimedRunSchema = z
  .object({
    id,
    attempt: z.number().int().min(1).max(1_000),
    config: z.unknown(),
  })
  .nullable();
export type ClaimedRun = NonNullable<z.output<typeof claimedRunSchema>>;
export const heartbeatReplySchema = z.object({ cancelRequested: z.boolean() });
