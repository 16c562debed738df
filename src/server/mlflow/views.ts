// Labbook's rows as MLflow's JSON (protobuf's JSON form: int64 as numbers, NaN and ±Infinity
// as strings, empty lists left out).
import type { RunStatus } from "@/shared/run-status";

export const TO_MLFLOW_STATUS: Record<RunStatus, string> = {
  queued: "SCHEDULED",
  running: "RUNNING",
  succeeded: "FINISHED",
  failed: "FAILED",
  cancelled: "KILLED",
};
export const FROM_MLFLOW_STATUS: Record<string, RunStatus> = Object.fromEntries(
  Object.entries(TO_MLFLOW_STATUS).map(([labbook, mlflow]) => [mlflow, labbook as RunStatus]),
);

/** The SQL expression for a run's MLflow status, for filters and ordering. */
export const MLFLOW_STATUS_SQL = `(CASE r.status ${Object.entries(TO_MLFLOW_STATUS)
  .map(([labbook, mlflow]) => `WHEN '${labbook}' THEN '${mlflow}'`)
  .join(" ")} END)`;

export const RUN_NAME_TAG = "mlflow.runName";
export const USER_TAG = "mlflow.user";

/** What the run queries select: the columns a RunInfo needs. */
export const RUN_INFO_COLUMNS = `
  r.id, r.uuid, r."experimentId", r.name, r.owner, r.status::text AS status, r.source::text AS source,
  (extract(epoch FROM COALESCE(r."startedAt", r."createdAt")) * 1000)::bigint::text AS start_time,
  (extract(epoch FROM r."finishedAt") * 1000)::bigint::text AS end_time,
  r."deletedAt" IS NOT NULL AS deleted`;

export interface RunRow {
  id: number;
  uuid: string;
  experimentId: number;
  name: string;
  owner: string;
  status: RunStatus;
  source: "labbook" | "mlflow";
  start_time: string;
  end_time: string | null;
  deleted: boolean;
}

export const artifactUri = (experimentId: number, uuid: string) =>
  `mlflow-artifacts:/${experimentId}/${uuid}/artifacts`;

export function runInfo(row: RunRow) {
  return {
    run_uuid: row.uuid,
    run_id: row.uuid,
    run_name: row.name,
    experiment_id: String(row.experimentId),
    user_id: row.owner,
    status: TO_MLFLOW_STATUS[row.status],
    start_time: Number(row.start_time),
    ...(row.end_time !== null ? { end_time: Number(row.end_time) } : {}),
    artifact_uri: artifactUri(row.experimentId, row.uuid),
    lifecycle_stage: row.deleted ? "deleted" : "active",
  };
}

/** A float as protobuf's JSON writes it. */
export const jsonFloat = (value: number): number | string =>
  Number.isFinite(value) ? value : Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";

export interface RunData {
  metrics: { key: string; value: number; timestamp: number; step: number }[];
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
}

export function runJson(row: RunRow, data: RunData) {
  // Tags MLflow's server keeps for every run; Labbook derives them from the run's columns.
  const tags = [
    { key: RUN_NAME_TAG, value: row.name },
    ...(row.owner ? [{ key: USER_TAG, value: row.owner }] : []),
    ...(row.source === "labbook" ? [{ key: "labbook.trainer", value: "labbook" }] : []),
    ...data.tags.filter((t) => t.key !== RUN_NAME_TAG && !(row.owner && t.key === USER_TAG)),
  ];
  return {
    info: runInfo(row),
    data: {
      ...(data.metrics.length
        ? { metrics: data.metrics.map((m) => ({ ...m, value: jsonFloat(m.value) })) }
        : {}),
      ...(data.params.length ? { params: data.params } : {}),
      tags,
    },
    inputs: {},
  };
}

export interface ExperimentRow {
  id: number;
  name: string;
  createdAt: Date;
  updatedAt: Date;
  archivedAt: Date | null;
  tags: { key: string; value: string }[];
}

export function experimentJson(row: ExperimentRow) {
  return {
    experiment_id: String(row.id),
    name: row.name,
    artifact_location: `mlflow-artifacts:/${row.id}`,
    lifecycle_stage: row.archivedAt ? "deleted" : "active",
    last_update_time: row.updatedAt.getTime(),
    creation_time: row.createdAt.getTime(),
    ...(row.tags.length ? { tags: row.tags.map(({ key, value }) => ({ key, value })) } : {}),
  };
}
