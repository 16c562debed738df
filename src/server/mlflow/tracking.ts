// MLflow's tracking operations on Labbook's tables: an MLflow run is a Labbook run (source
// "mlflow"), its params and tags have tables of their own, and its metrics go through the same
// ingest as the trainer's (services/metrics.ts).
import type pg from "pg";
import type { z } from "zod";
import { Prisma } from "@/generated/prisma/client";
import { type Db, inPoolTransaction, poolOf } from "@/server/db/client";
import { recordMetrics } from "@/server/services/metrics";
import { softDeleteRuns } from "@/server/services/runs";
import { AlreadyExistsError, DomainError } from "@/shared/errors";
import { MAX_DB_INT } from "@/shared/ids";
import { MlflowError } from "./errors";
import { randomRunName } from "./run-names";
import type { metricSchema, schemas } from "./schemas";
import { decodePageToken, encodePageToken, type RunSearch, runSearchSql } from "./search";
import {
  type ExperimentRow,
  experimentJson,
  FROM_MLFLOW_STATUS,
  jsonFloat,
  RUN_INFO_COLUMNS,
  RUN_NAME_TAG,
  type RunData,
  type RunRow,
  runInfo,
  runJson,
} from "./views";

type Input<K extends keyof typeof schemas> = z.output<(typeof schemas)[K]>;
type Metric = z.output<typeof metricSchema>;

const notFound = (message: string) => new MlflowError("RESOURCE_DOES_NOT_EXIST", message);

/* ---------- Experiments ---------- */

function experimentIdOf(raw: string): number {
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(id >= 0 && id <= MAX_DB_INT)) throw notFound(`No Experiment with id=${raw} exists`);
  return id;
}

async function findExperiment(db: Db, where: Prisma.ExperimentWhereInput): Promise<ExperimentRow | null> {
  return db.experiment.findFirst({
    where,
    select: { id: true, name: true, createdAt: true, updatedAt: true, archivedAt: true, tags: true },
  });
}

export async function getExperiment(db: Db, rawId: string) {
  const experiment = await findExperiment(db, { id: experimentIdOf(rawId) });
  if (!experiment) throw notFound(`No Experiment with id=${rawId} exists`);
  return { experiment: experimentJson(experiment) };
}

export async function getExperimentByName(db: Db, name: string) {
  const experiment = await findExperiment(db, { name });
  if (!experiment) throw notFound(`Could not find experiment with name ${name}`);
  return { experiment: experimentJson(experiment) };
}

export async function createExperiment(db: Db, input: Input<"createExperiment">) {
  const keys = input.tags.map((t) => t.key);
  if (new Set(keys).size !== keys.length)
    throw new MlflowError("INVALID_PARAMETER_VALUE", "duplicate tag keys");
  try {
    const created = await db.experiment.create({
      data: { name: input.name, tags: { create: input.tags } },
      select: { id: true },
    });
    return { experiment_id: String(created.id) };
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
      throw new AlreadyExistsError(`Experiment(name=${input.name}) already exists.`);
    throw error;
  }
}

async function liveExperimentOrThrow(db: Db, rawId: string, allowDeleted = false) {
  const experiment = await db.experiment.findUnique({ where: { id: experimentIdOf(rawId) } });
  if (!experiment) throw notFound(`No Experiment with id=${rawId} exists`);
  if (experiment.archivedAt && !allowDeleted)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `The experiment ${rawId} must be in the 'active' state.`,
    );
  return experiment;
}

export async function updateExperiment(db: Db, input: Input<"updateExperiment">) {
  const experiment = await liveExperimentOrThrow(db, input.experiment_id);
  try {
    await db.experiment.update({ where: { id: experiment.id }, data: { name: input.new_name } });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
      throw new AlreadyExistsError(`Experiment(name=${input.new_name}) already exists.`);
    throw error;
  }
  return {};
}

export async function setExperimentLifecycle(db: Db, rawId: string, deleted: boolean) {
  const experiment = await liveExperimentOrThrow(db, rawId, true);
  if (deleted && experiment.id === 0)
    throw new MlflowError("INVALID_PARAMETER_VALUE", "Cannot delete the default experiment '0'.");
  if (!deleted && !experiment.archivedAt)
    throw new MlflowError("INVALID_PARAMETER_VALUE", `Cannot restore an active experiment ${rawId}.`);
  await db.experiment.update({
    where: { id: experiment.id },
    data: { archivedAt: deleted ? new Date() : null },
  });
  return {};
}

export async function setExperimentTag(db: Db, input: Input<"setExperimentTag">) {
  const experiment = await liveExperimentOrThrow(db, input.experiment_id);
  await db.experimentTag.upsert({
    where: { experimentId_key: { experimentId: experiment.id, key: input.key } },
    create: { experimentId: experiment.id, key: input.key, value: input.value },
    update: { value: input.value },
  });
  return {};
}

const EXPERIMENT_ORDER: Record<string, keyof Prisma.ExperimentOrderByWithRelationInput> = {
  name: "name",
  experiment_id: "id",
  creation_time: "createdAt",
  last_update_time: "updatedAt",
};

export async function searchExperiments(db: Db, input: Input<"searchExperiments">) {
  const where: Prisma.ExperimentWhereInput[] = [];
  if (input.view_type === "ACTIVE_ONLY") where.push({ archivedAt: null });
  if (input.view_type === "DELETED_ONLY") where.push({ archivedAt: { not: null } });
  where.push(...experimentFilter(input.filter));
  const orderBy: Prisma.ExperimentOrderByWithRelationInput[] = input.order_by.map((entry) => {
    const match = /^\s*(?:attributes\.|attribute\.)?`?([a-z_]+)`?(?:\s+(ASC|DESC))?\s*$/i.exec(entry);
    const field = match ? EXPERIMENT_ORDER[match[1] as string] : undefined;
    if (!field)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `invalid order_by clause '${entry}'; use name, experiment_id, creation_time or last_update_time, then ASC or DESC`,
      );
    return { [field]: match?.[2]?.toUpperCase() === "DESC" ? "desc" : "asc" };
  });
  if (!orderBy.length) orderBy.push({ createdAt: "desc" });
  orderBy.push({ id: "asc" });
  const offset = decodePageToken(input.page_token);
  const rows = await db.experiment.findMany({
    where: { AND: where },
    orderBy,
    skip: offset,
    take: input.max_results + 1,
    select: { id: true, name: true, createdAt: true, updatedAt: true, archivedAt: true, tags: true },
  });
  return {
    experiments: rows.slice(0, input.max_results).map(experimentJson),
    ...(rows.length > input.max_results
      ? { next_page_token: encodePageToken(offset + input.max_results) }
      : {}),
  };
}

/** The experiments filter MLflow clients send: name comparisons and tags, joined by AND. */
function experimentFilter(filter: string | undefined): Prisma.ExperimentWhereInput[] {
  if (!filter?.trim()) return [];
  return filter.split(/\s+AND\s+/i).map((part) => {
    const match =
      /^\s*(?:attributes?\.)?(name|tags?\.(?:`[^`]+`|"[^"]+"|[\w.\-/ ]+?))\s*(=|!=|LIKE|ILIKE)\s*(['"])(.*)\3\s*$/i.exec(
        part,
      );
    if (!match)
      throw new MlflowError(
        "INVALID_PARAMETER_VALUE",
        `invalid clause '${part}' in the experiments filter; use name or tags.<key> with =, !=, LIKE or ILIKE`,
      );
    const [, target = "", op = "", , value = ""] = match;
    const condition = stringCondition(op.toUpperCase(), value);
    if (target.toLowerCase() === "name") return { name: condition };
    const key = target.slice(target.indexOf(".") + 1).replace(/^[`"]|[`"]$/g, "");
    return { tags: { some: { key, value: condition } } };
  });
}

function stringCondition(op: string, value: string): Prisma.StringFilter {
  if (op === "=") return { equals: value };
  if (op === "!=") return { not: value };
  // LIKE patterns become Prisma's contains/startsWith/endsWith only when they are that simple.
  const simple = /^(%?)([^%_]*)(%?)$/.exec(value);
  if (!simple) throw new MlflowError("INVALID_PARAMETER_VALUE", `the pattern '${value}' is too complex here`);
  const [, lead, core = "", tail] = simple;
  const mode = op === "ILIKE" ? ("insensitive" as const) : ("default" as const);
  if (lead && tail) return { contains: core, mode };
  if (tail) return { startsWith: core, mode };
  if (lead) return { endsWith: core, mode };
  return { equals: core, mode };
}

/* ---------- Runs ---------- */

/** run uuid → its id and experiment: never changes once made, so it is cached. */
const runIds = new Map<string, { id: number; experimentId: number; source: string }>();
const MAX_CACHED_RUNS = 100_000;

async function runRow(db: Db, uuid: string, client?: pg.PoolClient): Promise<RunRow> {
  const rows = /^[0-9a-f]{32}$/.test(uuid)
    ? (
        await (client ?? poolOf(db)).query<RunRow>(
          `SELECT ${RUN_INFO_COLUMNS} FROM "Run" r WHERE r.uuid = $1`,
          [uuid],
        )
      ).rows
    : [];
  const row = rows[0];
  if (!row) throw notFound(`Run with id=${uuid} not found`);
  return row;
}

/**
 * The run's id, for writes: it must exist and not be deleted. A run Labbook trains takes only
 * tags from MLflow's clients: its metrics, params and files come from its worker
 * (src/server/services/run-writers.ts).
 */
async function liveRunId(db: Db, uuid: string, write: "record" | "tag" = "record"): Promise<number> {
  let run = runIds.get(uuid);
  if (!run) {
    const row = await runRow(db, uuid);
    if (row.deleted) throw deletedRun(uuid);
    if (runIds.size >= MAX_CACHED_RUNS) runIds.clear();
    run = { id: row.id, experimentId: row.experimentId, source: row.source };
    runIds.set(uuid, run);
  }
  if (write === "record" && run.source === "labbook")
    throw new MlflowError(
      "PERMISSION_DENIED",
      `run ${uuid} is trained by Labbook: its worker logs its metrics, params and files; MLflow clients may only tag it`,
    );
  return run.id;
}

const deletedRun = (uuid: string) =>
  new MlflowError(
    "INVALID_STATE",
    `The run ${uuid} must be in the 'active' state. Current state is deleted.`,
  );

/** Reruns a write's refusal as MLflow words it: a deleted run is INVALID_STATE, by its uuid. */
async function explainRefusal(db: Db, uuid: string, error: unknown): Promise<never> {
  if (error instanceof DomainError) {
    const row = await runRow(db, uuid);
    if (row.deleted) throw deletedRun(uuid);
    throw new MlflowError(
      error.kind === "not_found" ? "RESOURCE_DOES_NOT_EXIST" : "INVALID_STATE",
      error.message.replace(`run ${row.id}`, `run ${uuid}`),
    );
  }
  throw error;
}

async function runData(db: Db, ids: number[]): Promise<Map<number, RunData>> {
  const pool = poolOf(db);
  const [metrics, params, tags] = await Promise.all([
    pool.query<{ runId: number; key: string; value: number; timestamp: string; step: number }>(
      `SELECT "runId", key, value, (extract(epoch FROM "wallTime") * 1000)::bigint::text AS timestamp, step
       FROM "LatestMetric" WHERE "runId" = ANY($1::int[])`,
      [ids],
    ),
    pool.query<{ runId: number; key: string; value: string }>(
      `SELECT "runId", key, value FROM "RunParam" WHERE "runId" = ANY($1::int[])`,
      [ids],
    ),
    pool.query<{ runId: number; key: string; value: string }>(
      `SELECT "runId", key, value FROM "RunTag" WHERE "runId" = ANY($1::int[])`,
      [ids],
    ),
  ]);
  const data = new Map<number, RunData>(ids.map((id) => [id, { metrics: [], params: [], tags: [] }]));
  for (const m of metrics.rows)
    data
      .get(m.runId)
      ?.metrics.push({ key: m.key, value: m.value, timestamp: Number(m.timestamp), step: m.step });
  for (const p of params.rows) data.get(p.runId)?.params.push({ key: p.key, value: p.value });
  for (const t of tags.rows) data.get(t.runId)?.tags.push({ key: t.key, value: t.value });
  return data;
}

export async function getRun(db: Db, uuid: string) {
  const row = await runRow(db, uuid);
  const data = await runData(db, [row.id]);
  return { run: runJson(row, data.get(row.id) as RunData) };
}

export async function createRun(db: Db, input: Input<"createRun">) {
  const experimentId = input.experiment_id ? experimentIdOf(input.experiment_id) : 0;
  const experiment = await db.experiment.findUnique({
    where: { id: experimentId },
    select: { archivedAt: true },
  });
  if (!experiment) throw notFound(`No Experiment with id=${input.experiment_id ?? "0"} exists`);
  if (experiment.archivedAt)
    throw new MlflowError(
      "INVALID_STATE",
      `The experiment ${experimentId} must be in the 'active' state. Current state is deleted.`,
    );
  const nameTag = input.tags.find((t) => t.key === RUN_NAME_TAG)?.value;
  if (input.run_name && nameTag && input.run_name !== nameTag)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='${input.run_name}', mlflow.runName='${nameTag}').`,
    );
  const name = input.run_name || nameTag || randomRunName();
  const owner = input.user_id ?? "";
  const tags = dedupe(input.tags.filter((t) => t.key !== RUN_NAME_TAG));
  const row = await inPoolTransaction(db, async (client) => {
    const { rows } = await client.query<RunRow>(
      `INSERT INTO "Run" AS r ("experimentId", name, source, owner, status, "groupKey", "startedAt", "updatedAt")
       VALUES ($1, $2, 'mlflow', $3, 'running', 'mlflow:' || md5(random()::text), to_timestamp($4::float8 / 1000), now())
       RETURNING ${RUN_INFO_COLUMNS}`,
      [experimentId, name, owner, input.start_time ?? Date.now()],
    );
    const created = rows[0] as RunRow;
    await upsertTags(client, created.id, tags);
    return created;
  });
  const data = await runData(db, [row.id]);
  return { run: runJson(row, data.get(row.id) as RunData) };
}

const dedupe = <T extends { key: string }>(items: T[]): T[] => [
  ...new Map(items.map((item) => [item.key, item])).values(),
];

async function upsertTags(
  client: pg.PoolClient | pg.Pool,
  runId: number,
  tags: { key: string; value: string }[],
) {
  if (!tags.length) return;
  await client.query(
    `INSERT INTO "RunTag" ("runId", key, value) SELECT $1, key, value FROM json_to_recordset($2::json) AS t(key text, value text)
     ON CONFLICT ("runId", key) DO UPDATE SET value = EXCLUDED.value`,
    [runId, JSON.stringify(tags)],
  );
}

export async function updateRun(db: Db, input: Input<"updateRun">) {
  const row = await runRow(db, input.run_id);
  if (row.deleted) throw deletedRun(input.run_id);
  const status = input.status ? FROM_MLFLOW_STATUS[input.status] : undefined;
  if (row.source === "labbook" && status && status !== row.status)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `run ${input.run_id} is trained by Labbook; its status follows its worker (cancel it in the dashboard)`,
    );
  const finished = status === "succeeded" || status === "failed" || status === "cancelled";
  const { rows } = await poolOf(db).query<RunRow>(
    `UPDATE "Run" r SET
       status = COALESCE($2::"RunStatus", status),
       name = COALESCE($3, name),
       "finishedAt" = CASE WHEN $4::boolean THEN to_timestamp(COALESCE($5::float8, extract(epoch FROM now()) * 1000) / 1000)
                           WHEN $2::"RunStatus" IS NOT NULL THEN NULL ELSE "finishedAt" END,
       "updatedAt" = now()
     WHERE id = $1 RETURNING ${RUN_INFO_COLUMNS}`,
    [row.id, status ?? null, input.run_name || null, finished, input.end_time ?? null],
  );
  return { run_info: runInfo(rows[0] as RunRow) };
}

export async function setRunLifecycle(db: Db, uuid: string, deleted: boolean, actor: string) {
  const row = await runRow(db, uuid);
  if (!deleted && !row.deleted) return {};
  await softDeleteRuns(db, [row.id], deleted, actor).catch((error: unknown) =>
    explainRefusal(db, uuid, error),
  );
  runIds.delete(uuid);
  return {};
}

/* ---------- Logging ---------- */

function points(metrics: Metric[]) {
  const now = Date.now();
  return metrics.map((m) => ({
    key: m.key,
    step: m.step ?? 0,
    value: m.value,
    wallTime: new Date(m.timestamp ?? now).toISOString(),
  }));
}

export async function logMetrics(db: Db, uuid: string, metrics: Metric[], client?: pg.PoolClient) {
  if (!metrics.length) return {};
  const id = await liveRunId(db, uuid);
  await recordMetrics(db, id, points(metrics), client).catch((error: unknown) =>
    explainRefusal(db, uuid, error),
  );
  return {};
}

/** Params never change: the same value again is fine, another is INVALID_PARAMETER_VALUE. */
async function insertParams(
  client: pg.PoolClient | pg.Pool,
  runId: number,
  uuid: string,
  params: { key: string; value: string }[],
) {
  if (!params.length) return;
  const keys = params.map((p) => p.key);
  const repeated = keys.filter((key, i) => keys.indexOf(key) !== i);
  if (repeated.length)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Duplicate parameter keys have been submitted: ${JSON.stringify([...new Set(repeated)])}. Please ensure the request contains only one param value per param key.`,
    );
  const { rows } = await client.query<{ key: string; value: string; existing: string }>(
    `WITH input AS (SELECT * FROM json_to_recordset($2::json) AS t(key text, value text)),
     inserted AS (
       INSERT INTO "RunParam" ("runId", key, value) SELECT $1, key, value FROM input
       ON CONFLICT ("runId", key) DO NOTHING RETURNING key
     )
     SELECT i.key, i.value, p.value AS existing FROM input i
     JOIN "RunParam" p ON p."runId" = $1 AND p.key = i.key WHERE p.value <> i.value`,
    [runId, JSON.stringify(params)],
  );
  const changed = rows[0];
  if (changed)
    throw new MlflowError(
      "INVALID_PARAMETER_VALUE",
      `Changing param values is not allowed. Param with key='${changed.key}' was already logged with value='${changed.existing}' for run ID='${uuid}'. Attempted logging new value '${changed.value}'.`,
    );
}

/** Tags named mlflow.runName rename the run, as in MLflow. */
async function applyTags(
  client: pg.PoolClient | pg.Pool,
  runId: number,
  tags: { key: string; value: string }[],
) {
  const name = tags.findLast((t) => t.key === RUN_NAME_TAG)?.value;
  if (name !== undefined)
    await client.query(`UPDATE "Run" SET name = $2, "updatedAt" = now() WHERE id = $1`, [
      runId,
      name.slice(0, 250),
    ]);
  await upsertTags(client, runId, dedupe(tags.filter((t) => t.key !== RUN_NAME_TAG)));
}

export async function logParam(db: Db, input: Input<"logParam">) {
  const id = await liveRunId(db, input.run_id);
  await insertParams(poolOf(db), id, input.run_id, [{ key: input.key, value: input.value }]);
  return {};
}

export async function setTag(db: Db, input: Input<"setTag">) {
  const id = await liveRunId(db, input.run_id, "tag");
  await applyTags(poolOf(db), id, [{ key: input.key, value: input.value }]);
  return {};
}

export async function deleteTag(db: Db, input: Input<"deleteTag">) {
  const id = await liveRunId(db, input.run_id, "tag");
  const { rowCount } = await poolOf(db).query(`DELETE FROM "RunTag" WHERE "runId" = $1 AND key = $2`, [
    id,
    input.key,
  ]);
  if (!rowCount) throw notFound(`No tag with name: ${input.key} in run with id ${input.run_id}`);
  return {};
}

/** Params, then metrics, then tags, all or nothing. */
export async function logBatch(db: Db, input: Input<"logBatch">) {
  const id = await liveRunId(
    db,
    input.run_id,
    input.params.length || input.metrics.length ? "record" : "tag",
  );
  if (!input.params.length && !input.tags.length) return logMetrics(db, input.run_id, input.metrics);
  await inPoolTransaction(db, async (client) => {
    await insertParams(client, id, input.run_id, input.params);
    await logMetrics(db, input.run_id, input.metrics, client);
    await applyTags(client, id, input.tags);
  });
  return {};
}

export async function logInputs(db: Db, input: Input<"logInputs">) {
  const id = await liveRunId(db, input.run_id, "tag");
  // Datasets are kept as tags (one per dataset digest): Labbook has no dataset view yet.
  await applyTags(
    poolOf(db),
    id,
    input.datasets.map((d) => ({
      key: `mlflow.dataset.${d.dataset.digest}`.slice(0, 250).replace(/[^/\w.\- ]/g, "_"),
      value: JSON.stringify({ name: d.dataset.name, source_type: d.dataset.source_type, tags: d.tags }).slice(
        0,
        8000,
      ),
    })),
  );
  return {};
}

/** log_model records the model's MLmodel as JSON in the mlflow.log-model.history tag. */
export async function logModel(db: Db, input: Input<"logModel">) {
  const id = await liveRunId(db, input.run_id);
  let model: unknown;
  try {
    model = JSON.parse(input.model_json);
  } catch {
    throw new MlflowError("INVALID_PARAMETER_VALUE", "model_json is not valid JSON");
  }
  const pool = poolOf(db);
  const { rows } = await pool.query<{ value: string }>(
    `SELECT value FROM "RunTag" WHERE "runId" = $1 AND key = 'mlflow.log-model.history'`,
    [id],
  );
  let history: unknown[] = [];
  try {
    const parsed = JSON.parse(rows[0]?.value ?? "[]") as unknown;
    if (Array.isArray(parsed)) history = parsed;
  } catch {}
  let value = JSON.stringify([...history, model]);
  // The tag holds at most 8,000 characters: the oldest entries give way.
  while (value.length > 8000 && history.length) {
    history = history.slice(1);
    value = JSON.stringify([...history, model]);
  }
  if (value.length > 8000)
    throw new MlflowError("INVALID_PARAMETER_VALUE", "model_json is over 8,000 characters");
  await upsertTags(pool, id, [{ key: "mlflow.log-model.history", value }]);
  return {};
}

/* ---------- Reading ---------- */

export async function getMetricHistory(db: Db, input: Input<"getHistory">) {
  const row = await runRow(db, input.run_id);
  const limit = input.max_results ?? 25_000;
  const offset = decodePageToken(input.page_token);
  const { rows } = await poolOf(db).query<{ value: number; timestamp: string; step: number }>(
    `SELECT value, (extract(epoch FROM "wallTime") * 1000)::bigint::text AS timestamp, step FROM "MetricPoint"
     WHERE "runId" = $1 AND key = $2 ORDER BY step, "wallTime" LIMIT $3 OFFSET $4`,
    [row.id, input.metric_key, limit + 1, offset],
  );
  const page = rows.slice(0, limit).map((m) => ({
    key: input.metric_key,
    value: m.value,
    timestamp: Number(m.timestamp),
    step: m.step,
  }));
  return {
    ...(page.length ? { metrics: page.map((m) => ({ ...m, value: jsonFloat(m.value) })) } : {}),
    ...(rows.length > limit ? { next_page_token: encodePageToken(offset + limit) } : {}),
  };
}

export async function searchRuns(db: Db, input: Input<"searchRuns">) {
  const search: RunSearch = {
    experimentIds: input.experiment_ids
      .map((raw) => (/^\d{1,10}$/.test(raw) ? Number(raw) : -1))
      .filter((id) => id >= 0 && id <= MAX_DB_INT),
    filter: input.filter,
    viewType: input.run_view_type,
    orderBy: input.order_by,
    maxResults: input.max_results,
    pageToken: input.page_token,
  };
  const { sql, params, offset } = runSearchSql(search);
  const pool = poolOf(db);
  const ids = (await pool.query<{ id: number }>(sql, params)).rows.map((r) => r.id);
  const page = ids.slice(0, input.max_results);
  if (!page.length) return {};
  const [rows, data] = await Promise.all([
    pool.query<RunRow>(`SELECT ${RUN_INFO_COLUMNS} FROM "Run" r WHERE r.id = ANY($1::int[])`, [page]),
    runData(db, page),
  ]);
  const byId = new Map(rows.rows.map((r) => [r.id, r]));
  return {
    runs: page.map((id) => runJson(byId.get(id) as RunRow, data.get(id) as RunData)),
    ...(ids.length > input.max_results
      ? { next_page_token: encodePageToken(offset + input.max_results) }
      : {}),
  };
}
