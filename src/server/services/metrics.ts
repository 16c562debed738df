// Metric ingest: one idempotent batch write per call (a repeated (run, key, step) replaces the
// value), with the run's summary columns updated in the same transaction.
import { TRPCError } from "@trpc/server";
import type { z } from "zod";
import type { Db } from "@/server/db/client";
import { EPOCH_METRIC_KEYS, type metricPointSchema } from "@/shared/metrics";

type Point = z.output<typeof metricPointSchema>;

const SUMMARY_KEYS: ReadonlySet<string> = new Set([EPOCH_METRIC_KEYS.valAccuracy, EPOCH_METRIC_KEYS.valLoss]);

export async function recordMetrics(db: Db, runId: number, points: Point[]): Promise<{ stored: number }> {
  // One statement cannot upsert a row twice: within a batch, the last point of a step wins.
  const unique = new Map<string, Point>();
  for (const point of points) unique.set(`${point.key}\u0000${point.step}`, point);
  const rows = [...unique.values()];
  const now = new Date().toISOString();
  // The run's state is checked inside the INSERT, so a batch is one round trip (two when it
  // holds val_* points, whose summary columns are recomputed in the same transaction).
  const insert = db.$executeRaw`
    INSERT INTO "MetricPoint" ("runId", key, step, value, "wallTime")
    SELECT ${runId}, k, s, v, w
    FROM unnest(${rows.map((p) => p.key)}::text[], ${rows.map((p) => p.step)}::int[],
                ${rows.map((p) => p.value)}::float8[], ${rows.map((p) => p.wallTime ?? now)}::timestamptz[]) AS t(k, s, v, w)
    WHERE EXISTS (SELECT 1 FROM "Run" WHERE id = ${runId} AND "deletedAt" IS NULL AND status IN ('queued', 'running'))
    ON CONFLICT ("runId", key, step) DO UPDATE SET value = EXCLUDED.value, "wallTime" = EXCLUDED."wallTime"`;
  const summary = db.$executeRaw`
    UPDATE "Run" SET
      "epochsDone" = COALESCE((SELECT max(step) FROM "MetricPoint" WHERE "runId" = ${runId} AND key = ${EPOCH_METRIC_KEYS.valAccuracy}), "epochsDone"),
      "bestValAccuracy" = (SELECT max(value) FROM "MetricPoint" WHERE "runId" = ${runId} AND key = ${EPOCH_METRIC_KEYS.valAccuracy}),
      "lastValAccuracy" = (SELECT value FROM "MetricPoint" WHERE "runId" = ${runId} AND key = ${EPOCH_METRIC_KEYS.valAccuracy} ORDER BY step DESC LIMIT 1),
      "bestValLoss" = (SELECT min(value) FROM "MetricPoint" WHERE "runId" = ${runId} AND key = ${EPOCH_METRIC_KEYS.valLoss}),
      "lastValLoss" = (SELECT value FROM "MetricPoint" WHERE "runId" = ${runId} AND key = ${EPOCH_METRIC_KEYS.valLoss} ORDER BY step DESC LIMIT 1),
      "bestEpoch" = (SELECT step FROM "MetricPoint" WHERE "runId" = ${runId} AND key = ${EPOCH_METRIC_KEYS.valLoss} ORDER BY value ASC, step ASC LIMIT 1),
      "updatedAt" = now()
    WHERE id = ${runId}`;
  const touchesSummary = rows.some((p) => SUMMARY_KEYS.has(p.key));
  // Prisma queries run only when awaited: `summary` stays unsent for batches that skip it.
  const [stored] = touchesSummary ? await db.$transaction([insert, summary]) : [await insert];
  if (stored !== rows.length) {
    const run = await db.run.findFirst({ where: { id: runId, deletedAt: null }, select: { status: true } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: `run ${runId} does not exist` });
    throw new TRPCError({
      code: "CONFLICT",
      message: `run ${runId} is ${run.status}; it no longer takes metrics`,
    });
  }
  return { stored };
}

/** A run's whole history (of `keys`, or all), ordered by key and step: for exports. */
export async function metricHistory(db: Db, runId: number, keys?: string[]) {
  return db.metricPoint.findMany({
    where: { runId, ...(keys ? { key: { in: keys } } : {}) },
    orderBy: [{ key: "asc" }, { step: "asc" }],
    select: { key: true, step: true, value: true, wallTime: true },
  });
}

export interface HistoryPoint {
  step: number;
  value: number;
  min: number;
  max: number;
}

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
      WHERE "runId" = ANY(${runIds}::int[]) AND key = ANY(${keys}::text[])
      WINDOW w AS (PARTITION BY "runId", key)
    )
    SELECT "runId", key, max(step) AS step, avg(value) AS value, min(value) AS min, max(value) AS max
    FROM pts
    GROUP BY "runId", key,
      CASE WHEN n <= ${maxPoints} THEN step
           ELSE floor((step - lo)::float8 * ${maxPoints} / (hi - lo + 1))::int END
    ORDER BY "runId", key, step`;
  const series = new Map<string, { runId: number; key: string; points: HistoryPoint[] }>();
  for (const row of rows) {
    const id = `${row.runId}\u0000${row.key}`;
    let entry = series.get(id);
    if (!entry) {
      entry = { runId: row.runId, key: row.key, points: [] };
      series.set(id, entry);
    }
    entry.points.push({ step: row.step, value: row.value, min: row.min, max: row.max });
  }
  return [...series.values()];
}

/** The metric keys the runs have, for choosing what to chart. */
export async function metricKeys(db: Db, runIds: number[]): Promise<string[]> {
  const rows = await db.$queryRaw<{ key: string }[]>`
    SELECT DISTINCT key FROM "MetricPoint" WHERE "runId" = ANY(${runIds}::int[]) ORDER BY key`;
  return rows.map((r) => r.key);
}
