// Request shapes of MLflow's tracking API (mlflow/protos/service.proto), with MLflow's limits
// (mlflow/utils/validation.py). GET requests arrive as query strings, so numbers may be text.
import { z } from "zod";
import { MAX_DB_INT } from "@/shared/ids";
import { MLFLOW_KEY_PATTERN } from "@/shared/metrics";
import { isStorableText } from "@/shared/storable-text";

export const LIMITS = {
  entityKey: 250,
  paramValue: 6000,
  tagValue: 8000,
  experimentName: 500,
  experimentTagValue: 5000,
  runName: 250,
  metricsPerBatch: 1000,
  paramsTagsPerBatch: 100,
  entitiesPerBatch: 1000,
  maxResults: 50_000,
  historyPage: 25_000,
} as const;

/** The latest time accepted, in ms: the end of year 9999 (PostgreSQL's timestamp goes further). */
const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/** A text field of at most `max` characters that PostgreSQL can store. */
export const text = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .max(max, { error: `${field} must be at most ${max} characters` })
    .refine(isStorableText, { error: `${field} must be valid Unicode text without NUL characters` });

/** MLflow's rule for metric, param and tag keys: letters, digits, _ - . / and space, no `..` path. */
export const entityKey = (field: string) =>
  text(field, LIMITS.entityKey)
    .min(1, { error: `${field} must not be empty` })
    .regex(MLFLOW_KEY_PATTERN, {
      error: `${field} may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/)`,
    })
    .refine((key) => !key.split("/").includes("..") && !key.startsWith("/"), {
      error: `${field} must not be an absolute path or contain '..'`,
    });

/** An int64 field, as a JSON number or a query-string number, bounded to `min..max`. */
const integer = (field: string, min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z
      .number({ error: `${field} must be an integer` })
      .int({ error: `${field} must be an integer` })
      .min(min, { error: `${field} must be ≥ ${min}` })
      .max(max, { error: `${field} must be ≤ ${max}` }),
  );

export const timestampMs = (field: string) => integer(field, 0, MAX_TIMESTAMP_MS);
/** Steps are int4 in Labbook's metric table. */
export const step = integer("step", -MAX_DB_INT - 1, MAX_DB_INT);

/** A metric value: a number, or NaN / ±Infinity as protobuf's JSON writes them. */
export const metricValue = z.union(
  [
    z.number(),
    z
      .string()
      .trim()
      .regex(/^(NaN|[+-]?Infinity|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/)
      .transform(Number),
  ],
  { error: "value must be a number, NaN, Infinity or -Infinity" },
);

/** A run id: MLflow's are 32 hex characters; anything else is simply not found. */
export const runId = z.string({ error: "run_id must be a string" }).max(64, { error: "run_id is too long" });
export const experimentId = z
  .union([z.string(), z.number()], { error: "experiment_id must be a string" })
  .transform((v) => String(v).trim())
  .pipe(z.string().max(20, { error: "experiment_id is too long" }));

const keyValue = (value: number) =>
  z.object({ key: entityKey("key"), value: text("value", value).default("") });
export const tagSchema = keyValue(LIMITS.tagValue);
export const paramSchema = z.object({ key: entityKey("key"), value: text("value", LIMITS.paramValue) });

/** Requests about a run; the HTTP layer copies the deprecated run_uuid into run_id. */
const withRunId = <T extends z.ZodRawShape>(shape: T) =>
  z.object({ run_id: runId.min(1, { error: "run_id is required" }), ...shape });

export const metricSchema = z.object({
  key: entityKey("metric key"),
  value: metricValue,
  timestamp: timestampMs("timestamp").optional(),
  step: step.optional(),
});

const viewType = z
  .enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"], {
    error: "view type must be ACTIVE_ONLY, DELETED_ONLY or ALL",
  })
  .default("ACTIVE_ONLY");
const maxResults = (fallback: number) =>
  integer("max_results", 1, LIMITS.maxResults).optional().default(fallback);
const stringList = (field: string, maxItems: number, maxLength: number) =>
  z.preprocess(
    (v) => (v === undefined || Array.isArray(v) ? v : [v]),
    z.array(text(field, maxLength)).max(maxItems, { error: `${field} takes at most ${maxItems} entries` }),
  );

export const schemas = {
  createExperiment: z.object({
    name: text("name", LIMITS.experimentName)
      .trim()
      .min(1, { error: "experiment name must be a non-empty string" }),
    artifact_location: text("artifact_location", 2000).optional(),
    tags: z
      .array(z.object({ key: entityKey("tag key"), value: text("tag value", LIMITS.experimentTagValue) }))
      .max(LIMITS.paramsTagsPerBatch)
      .default([]),
  }),
  experimentById: z.object({ experiment_id: experimentId }),
  experimentByName: z.object({ experiment_name: text("experiment_name", LIMITS.experimentName) }),
  searchExperiments: z.object({
    max_results: maxResults(1000),
    page_token: text("page_token", 200).optional(),
    filter: text("filter", 10_000).optional(),
    order_by: stringList("order_by", 10, 1000).optional().default([]),
    view_type: viewType,
  }),
  updateExperiment: z.object({
    experiment_id: experimentId,
    new_name: text("new_name", LIMITS.experimentName)
      .trim()
      .min(1, { error: "new_name must be a non-empty string" }),
  }),
  setExperimentTag: z.object({
    experiment_id: experimentId,
    key: entityKey("key"),
    value: text("value", LIMITS.experimentTagValue).default(""),
  }),
  createRun: z.object({
    experiment_id: experimentId.optional(),
    user_id: text("user_id", 256).optional(),
    run_name: text("run_name", LIMITS.runName).optional(),
    start_time: timestampMs("start_time").optional(),
    tags: z.array(tagSchema).max(LIMITS.paramsTagsPerBatch).default([]),
  }),
  runById: withRunId({}),
  updateRun: withRunId({
    status: z
      .enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"], {
        error: "status must be RUNNING, SCHEDULED, FINISHED, FAILED or KILLED",
      })
      .optional(),
    end_time: timestampMs("end_time").optional(),
    run_name: text("run_name", LIMITS.runName).optional(),
  }),
  searchRuns: z.object({
    experiment_ids: stringList("experiment_ids", 1000, 20).optional().default([]),
    filter: text("filter", 10_000).optional(),
    run_view_type: viewType,
    max_results: maxResults(1000),
    order_by: stringList("order_by", 10, 1000).optional().default([]),
    page_token: text("page_token", 200).optional(),
  }),
  logMetric: withRunId(metricSchema.shape),
  logParam: withRunId({ key: entityKey("param key"), value: text("value", LIMITS.paramValue) }),
  setTag: withRunId({ key: entityKey("tag key"), value: text("value", LIMITS.tagValue).default("") }),
  deleteTag: withRunId({ key: entityKey("tag key") }),
  logBatch: withRunId({
    metrics: z
      .array(metricSchema)
      .max(LIMITS.metricsPerBatch, { error: `a batch takes at most ${LIMITS.metricsPerBatch} metrics` })
      .default([]),
    params: z
      .array(paramSchema)
      .max(LIMITS.paramsTagsPerBatch, { error: `a batch takes at most ${LIMITS.paramsTagsPerBatch} params` })
      .default([]),
    tags: z
      .array(tagSchema)
      .max(LIMITS.paramsTagsPerBatch, { error: `a batch takes at most ${LIMITS.paramsTagsPerBatch} tags` })
      .default([]),
  }),
  logInputs: withRunId({
    datasets: z
      .array(
        z.object({
          tags: z
            .array(z.object({ key: text("key", 255), value: text("value", 500) }))
            .max(100)
            .default([]),
          dataset: z.object({
            name: text("dataset name", 500),
            digest: text("dataset digest", 36),
            source_type: text("source_type", 500),
            source: text("source", 65_535),
            schema: text("schema", 1_048_575).optional(),
            profile: text("profile", 1_000_000).optional(),
          }),
        }),
      )
      .max(LIMITS.entitiesPerBatch)
      .default([]),
  }),
  logModel: withRunId({ model_json: text("model_json", 1_000_000) }),
  getHistory: withRunId({
    metric_key: entityKey("metric_key"),
    page_token: text("page_token", 200).optional(),
    max_results: integer("max_results", 1, LIMITS.historyPage).optional(),
  }),
  listArtifacts: z.object({ path: text("path", 2000).optional() }),
} as const;

export { MAX_DB_INT };
