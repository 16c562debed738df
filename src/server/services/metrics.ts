// Metric ingest: one idempotent batch write per call (a repeated (run, key, step) replaces the
// value), with the run's summary columns updated in the same transaction.
import type pg from "pg";
import type { z } from "zod";
import { Prisma } from "@/generated/prisma/client";
import { type Db, inPoolTransaction, poolOf } from "@/server/db/client";
import { ConflictError, NotFoundError } from "@/shared/errors";
import { EPOCH_METRIC_KEYS, type metricPointSchema } from "@/shared/metrics";

/** A point to store; MLflow's API also passes NaN and ±Infinity, which Labbook's trainer never sends. */
type Point = Omit<z.output<typeof metricPointSchema>, "wallTime"> & { wallTime?: string };

const SUMMARY_KEYS: ReadonlySet<string> = new Set([EPOCH_METRIC_KEYS.valAccuracy, EPOCH_METRIC_KEYS.valLoss]);

// Runs of Labbook's queue take points while queued or running; MLflow runs take them until
// deleted, as in MLflow. Each statement also keeps LatestMetric (the newest point of each key)
// and answers with the number of points stored.
const RUN_CTE = `
  WITH run AS (
    SELECT id FROM "Run"
    WHERE id = $1 AND "deletedAt" IS NULL AND (status IN ('queued', 'running') OR source = 'mlflow')
    FOR KEY SHARE
  ), points AS (
    SELECT run.id AS "runId", t.key, t.step, t.value, COALESCE(t."wallTime", now()) AS "wallTime"
    FROM run, json_to_recordset($2::json) AS t(key text, step int, value float8, "wallTime" timestamptz)
  )`;
const LATEST_SQL = `,
  latest AS (
    INSERT INTO "LatestMetric" ("runId", key, step, value, "wallTime")
    SELECT DISTINCT ON (key) "runId", key, step, value, "wallTime" FROM stored
    ORDER BY key, step DESC, "wallTime" DESC
    ON CONFLICT ("runId", key) DO UPDATE SET step = EXCLUDED.step, value = EXCLUDED.value, "wallTime" = EXCLUDED."wallTime"
    WHERE ("LatestMetric".step, "LatestMetric"."wallTime") <= (EXCLUDED.step, EXCLUDED."wallTime")
  )
  SELECT count(*)::int AS stored FROM stored`;
const INSERT_SQL = `${RUN_CTE}, stored AS (
    INSERT INTO "MetricPoint" ("runId", key, step, value, "wallTime") SELECT * FROM points
    RETURNING "runId", key, step, value, "wallTime"
  )${LATEST_SQL}`;
const UPSERT_SQL = `${RUN_CTE}, stored AS (
    INSERT INTO "MetricPoint" ("runId", key, step, value, "wallTime") SELECT * FROM points
    ON CONFLICT ("runId", key, step) DO UPDATE SET value = EXCLUDED.value, "wallTime" = EXCLUDED."wallTime"
    RETURNING "runId", key, step, value, "wallTime"
  )${LATEST_SQL}`;
const UNIQUE_VIOLATION = "23505";

/** Below this many points a batch is upserted at once (see insertOrUpsert). */
const SMALL_BATCH = 50;

/**
 * Inserts the batch, or upserts it when some of its steps are stored already (a replay): a
 * plain INSERT costs 30% less than ON CONFLICT for large batches, and their replays are rare. A
 * failed statement outside a transaction stores nothing, so the retry starts clean. Small
 * batches are upserted straight away: `mlflow.log_metric(k, v)` without a step logs step 0 again
 * and again, and each failed INSERT cost about 10 ms. Both statements are named (prepared once
 * per connection): planning them cost more than storing one point.
 */
async function insertOrUpsert(pool: pg.Pool, params: unknown[], size: number): Promise<number> {
  if (size < SMALL_BATCH)
    return storedCount(await pool.query({ name: "metrics-upsert", text: UPSERT_SQL, values: params }));
  try {
    return storedCount(await pool.query({ name: "metrics-insert", text: INSERT_SQL, values: params }));
  } catch (error) {
    if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
    return storedCount(await pool.query({ name: "metrics-upsert", text: UPSERT_SQL, values: params }));
  }
}

const storedCount = (result: pg.QueryResult) =>
  (result.rows[0] as { stored: number } | undefined)?.stored ?? 0;

/** JSON for json_to_recordset: NaN and ±Infinity (MLflow accepts them) go as float8's text. */
const pointsJson = (rows: unknown[]) =>
  JSON.stringify(rows, (_key, value) =>
    typeof value === "number" && !Number.isFinite(value) ? String(value) : value,
  );

const VAL_ACC = `"runId" = $1 AND key = '${EPOCH_METRIC_KEYS.valAccuracy}'`;
const VAL_LOSS = `"runId" = $1 AND key = '${EPOCH_METRIC_KEYS.valLoss}'`;
const SUMMARY_SQL = `
  UPDATE "Run" SET
    "epochsDone" = COALESCE((SELECT max(step) FROM "MetricPoint" WHERE ${VAL_ACC}), "epochsDone"),
    "bestValAccuracy" = (SELECT max(value) FROM "MetricPoint" WHERE ${VAL_ACC}),
    "lastValAccuracy" = (SELECT value FROM "MetricPoint" WHERE ${VAL_ACC} ORDER BY step DESC LIMIT 1),
    "bestValLoss" = (SELECT min(value) FROM "MetricPoint" WHERE ${VAL_LOSS}),
    "lastValLoss" = (SELECT value FROM "MetricPoint" WHERE ${VAL_LOSS} ORDER BY step DESC LIMIT 1),
    "bestEpoch" = (SELECT step FROM "MetricPoint" WHERE ${VAL_LOSS} ORDER BY value ASC, step ASC LIMIT 1),
    "updatedAt" = now()
  WHERE id = $1`;

/**
 * Stores a batch of one run's points. With `client`, inside the caller's transaction (MLflow's
 * log-batch stores params, tags and metrics all or nothing).
 */
export async function recordMetrics(
  db: Db,
  runId: number,
  points: Point[],
  client?: pg.PoolClient,
): Promise<{ stored: number }> {
  // One statement cannot upsert a row twice: within a batch, the last point of a step wins.
  const unique = new Map<string, Point>();
  for (const point of points) unique.set(`${point.key}\u0000${point.step}`, point);
  const rows = [...unique.values()];
  // One statement checks and key-share locks the run (MetricPoint has no foreign key; see
  // schema.prisma) and stores the batch, passed as one JSON parameter. Batches with val_*
  // points also recompute the run's summary columns, in the same transaction.
  const params = [runId, pointsJson(rows)];
  const summarise = rows.some((p) => SUMMARY_KEYS.has(p.key));
  const store = async (tx: pg.PoolClient) => {
    const count = storedCount(await tx.query({ name: "metrics-upsert", text: UPSERT_SQL, values: params }));
    if (summarise && count === rows.length) await tx.query(SUMMARY_SQL, [runId]);
    return count;
  };
  let stored: number;
  if (client) stored = await store(client);
  else if (!summarise) stored = await insertOrUpsert(poolOf(db), params, rows.length);
  else stored = await inPoolTransaction(db, store);
  if (stored !== rows.length) {
    const run = await db.run.findFirst({ where: { id: runId, deletedAt: null }, select: { status: true } });
    if (!run) throw new NotFoundError(`run ${runId} does not exist`);
    throw new ConflictError(`run ${runId} is ${run.status}; it no longer takes metrics`);
  }
  return { stored };
}

/**
 * SQL: the bucket a point's `step` falls in when its series of `n` steps from `lo` to `hi`
 * (columns by those names) is thinned to `maxPoints` buckets of consecutive steps. Charts of
 * runs and compare's group bands thin the same way.
 */
export const stepBucket = (maxPoints: number) =>
  Prisma.sql`CASE WHEN n <= ${maxPoints} THEN step
    ELSE floor((step - lo)::float8 * ${maxPoints} / (hi::float8 - lo + 1))::int END`;

/** SQL: NaN and ±Infinity (MLflow clients log them) have no place on a chart's axis. */
export const FINITE_VALUE = Prisma.sql`value NOT IN ('NaN', 'Infinity', '-Infinity')`;

/**
 * Each run's history of each key in at most `maxPoints` buckets of consecutive steps: a
 * bucket's value is its mean, and its min and max are kept, so spikes stay visible.
 */
export async function downsampledHistory(db: Db, runIds: number[], keys: string[], maxPoints: number) {
  const rows = await db.$queryRaw<
    { runId: number; key: string; step: number; value: number; min: number; max: number }[]
  >`
    WITH pts AS (
      SELECT "runId", key, step, value,
             count(*) OVER w AS n, min(step) OVER w AS lo, max(step) OVER w AS hi
      FROM "MetricPoint"
      WHERE "runId" IN (SELECT id FROM "Run" WHERE id = ANY(${runIds}::int[]) AND "deletedAt" IS NULL)
        AND key = ANY(${keys}::text[]) AND ${FINITE_VALUE}
      WINDOW w AS (PARTITION BY "runId", key)
    )
    SELECT "runId", key, max(step) AS step, avg(value) AS value, min(value) AS min, max(value) AS max
    FROM pts
    GROUP BY "runId", key, ${stepBucket(maxPoints)}
    ORDER BY "runId", key, step`;
  return toSeries(rows, "runId", (row) => ({ step: row.step, value: row.value, min: row.min, max: row.max }));
}

/** Rows ordered by (owner, key, step) as one series per owner (a run, a group) and key. */
export function toSeries<R extends { key: string }, Owner extends keyof R, P>(
  rows: R[],
  owner: Owner,
  point: (row: R) => P,
): (Pick<R, Owner> & { key: string; points: P[] })[] {
  const series = new Map<string, Pick<R, Owner> & { key: string; points: P[] }>();
  for (const row of rows) {
    const id = `${String(row[owner])}\u0000${row.key}`;
    let entry = series.get(id);
    if (!entry) {
      entry = { [owner]: row[owner], key: row.key, points: [] } as unknown as Pick<R, Owner> & {
        key: string;
        points: P[];
      };
      series.set(id, entry);
    }
    entry.points.push(point(row));
  }
  return [...series.values()];
}

/** The metric keys the runs have, for choosing what to chart (one LatestMetric row per key). */
export async function metricKeys(db: Db, runIds: number[]): Promise<string[]> {
  const rows = await db.$queryRaw<{ key: string }[]>`
    SELECT DISTINCT key FROM "LatestMetric"
    WHERE "runId" IN (SELECT id FROM "Run" WHERE id = ANY(${runIds}::int[]) AND "deletedAt" IS NULL)
    ORDER BY key`;
  return rows.map((r) => r.key);
}
