// Queueing and listing runs.
import { createHash } from "node:crypto";
import type { z } from "zod";
import type { Prisma } from "@/generated/prisma/client";
import { runLimits } from "@/server/config";
import type { Db } from "@/server/db/client";
import { ConflictError, InvalidInputError, NotFoundError } from "@/shared/errors";
import {
  RUN_RANGE_FILTERS,
  RUN_SUMMARY_METRICS,
  type runListSchema,
  type runSpecSchema,
} from "@/shared/experiments";
import type { Hyperparams } from "@/shared/hyperparams";
import { MAX_DB_INT } from "@/shared/ids";
import { liveRunsOrThrow, refuseMlflowRuns } from "./queue";

type Tx = Prisma.TransactionClient | Db;
type RunSpec = z.output<typeof runSpecSchema>;
type RunListQuery = z.output<typeof runListSchema>;

/** Runs whose configs differ only in seed share a group (for mean ± CI across seeds). */
export function groupKeyOf(config: Hyperparams): string {
  const { seed: _seed, ...rest } = config;
  // zod emits keys in schema order, so equal configs stringify identically.
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex").slice(0, 16);
}

function typedColumns(config: Hyperparams) {
  return {
    normalization: config.normalization,
    learningRate: config.learningRate,
    batchSize: config.batchSize,
    epochs: config.epochs,
    seed: config.seed,
    dropout: config.dropout,
    l2: config.l2,
    augmentation: config.augmentation.enabled,
    lrPlateauPatience: config.lrPlateau.patience,
    lrPlateauFactor: config.lrPlateau.factor,
    lrPlateauMin: config.lrPlateau.minLr,
    earlyStoppingPatience: config.earlyStopping.enabled ? config.earlyStopping.patience : -1,
  };
}

/** Queues one run per seed of each spec, in one transaction. */
export async function queueRuns(tx: Tx, experimentId: number, specs: RunSpec[]) {
  // Read under a row lock: two calls at once cannot both slip under the experiment's limit.
  const [experiment] = await tx.$queryRaw<{ name: string; archivedAt: Date | null }[]>`
    SELECT name, "archivedAt" FROM "Experiment" WHERE id = ${experimentId} FOR UPDATE`;
  if (!experiment) throw new NotFoundError(`experiment ${experimentId} does not exist`);
  if (experiment.archivedAt) {
    throw new InvalidInputError(`experiment "${experiment.name}" is archived`);
  }
  const rows = specs.flatMap((spec) =>
    (spec.seeds ?? [spec.config.seed]).map((seed) => {
      const config: Hyperparams = { ...spec.config, seed };
      return {
        experimentId,
        name: spec.name
          ? `${spec.name}${spec.seeds && spec.seeds.length > 1 ? ` · seed ${seed}` : ""}`
          : defaultName(config),
        priority: spec.priority,
        maxAttempts: spec.maxAttempts,
        groupKey: groupKeyOf(config),
        config,
        ...typedColumns(config),
      };
    }),
  );
  const limits = runLimits();
  if (rows.length > limits.perRequest)
    throw new InvalidInputError(
      `this would queue ${rows.length.toLocaleString("en")} runs; one request queues at most ${limits.perRequest.toLocaleString("en")} (LABBOOK_MAX_RUNS_PER_REQUEST)`,
    );
  const held = await tx.run.count({ where: { experimentId } });
  if (held + rows.length > limits.perExperiment)
    throw new InvalidInputError(
      `experiment "${experiment.name}" holds ${held.toLocaleString("en")} runs; ${rows.length.toLocaleString("en")} more would pass its limit of ${limits.perExperiment.toLocaleString("en")} (LABBOOK_MAX_RUNS_PER_EXPERIMENT)`,
    );
  const runs = await tx.run.createManyAndReturn({ data: rows });
  // The config as MLflow params, by the same SQL function that filled them in for older runs.
  await tx.$executeRaw`
    INSERT INTO "RunParam" ("runId", key, value)
    SELECT r.id, p.key, p.value FROM "Run" r, labbook_config_params(r.config) p
    WHERE r.id = ANY(${runs.map((r) => r.id)}::int[])`;
  return runs;
}

/**
 * What a run was configured with, for parameter tables and exports: Labbook's config (nested),
 * or the params an MLflow run logged.
 */
export function settingsOf(run: { config: unknown; params?: { key: string; value: string }[] }): unknown {
  return run.config ?? Object.fromEntries((run.params ?? []).map((p) => [p.key, p.value]));
}

function defaultName(config: Hyperparams): string {
  return `${config.normalization} · lr ${config.learningRate} · seed ${config.seed}`;
}

/* ---------- Listing with keyset pagination ---------- */

type SortValue = string | number | null;
interface Cursor {
  v: SortValue;
  id: number;
}

const DATE_FIELDS = new Set(["createdAt", "startedAt", "finishedAt"]);
const TEXT_FIELDS = new Set(["name", "status", "normalization"]);
/** Sort columns that may hold nulls; Prisma accepts a `nulls` order only on these. */
const NULLABLE_FIELDS = new Set([...RUN_SUMMARY_METRICS, "startedAt", "finishedAt"]);

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(raw: string): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(raw, "base64url").toString()) as Cursor;
    if (Number.isInteger(cursor.id) && cursor.id > 0 && cursor.id <= MAX_DB_INT) return cursor;
  } catch {}
  throw new InvalidInputError("cursor is not one this API returned");
}

/**
 * Rows after the cursor in (field dir, nulls last, id dir) order. Written out rather than
 * left to Prisma's cursor option, which drops rows when the sort column holds nulls.
 */
function afterCursor(field: string, dir: "asc" | "desc", cursor: Cursor): Prisma.RunWhereInput {
  const past = dir === "asc" ? "gt" : "lt";
  const idPast = { id: { [past]: cursor.id } };
  if (cursor.v === null) return { AND: [{ [field]: null }, idPast] };
  // The cursor comes from the client: its value must have the sort column's type.
  const expected = DATE_FIELDS.has(field) || TEXT_FIELDS.has(field) ? "string" : "number";
  const fits =
    typeof cursor.v === expected &&
    (expected === "number"
      ? Number.isFinite(cursor.v)
      : !DATE_FIELDS.has(field) || !Number.isNaN(Date.parse(String(cursor.v))));
  if (!fits) throw new InvalidInputError("cursor is not one this API returned");
  const value = DATE_FIELDS.has(field) ? new Date(cursor.v as string) : cursor.v;
  return {
    OR: [{ [field]: { [past]: value } }, { AND: [{ [field]: value }, idPast] }, { [field]: null }],
  };
}

export async function listRuns(db: Db, query: RunListQuery) {
  const { field, dir } = query.sort;
  const where: Prisma.RunWhereInput[] = [{ deletedAt: query.deleted ? { not: null } : null }];
  if (query.experimentId !== undefined) where.push({ experimentId: query.experimentId });
  if (query.status?.length) where.push({ status: { in: query.status } });
  if (query.normalization?.length) where.push({ normalization: { in: query.normalization } });
  if (query.augmentation !== undefined) where.push({ augmentation: query.augmentation });
  if (query.dropout) where.push({ dropout: { equals: query.dropout } });
  for (const key of RUN_RANGE_FILTERS) {
    const range = query[key];
    if (range) where.push({ [key]: { gte: range.gte, lte: range.lte } });
  }
  // The total counts every match; only the page itself starts after the cursor.
  const filtered: Prisma.RunWhereInput = { AND: [...where] };
  if (query.cursor) where.push(afterCursor(field, dir, decodeCursor(query.cursor)));

  const [rows, total] = await Promise.all([
    db.run.findMany({
      where: { AND: where },
      orderBy: [{ [field]: NULLABLE_FIELDS.has(field) ? { sort: dir, nulls: "last" } : dir }, { id: dir }],
      take: query.limit + 1,
      include: { experiment: { select: { name: true } }, worker: { select: { name: true } } },
    }),
    db.run.count({ where: filtered }),
  ]);
  const items = rows.slice(0, query.limit);
  const last = items.at(-1);
  const sortValue = (run: (typeof items)[number]): SortValue => {
    const value = run[field as keyof typeof run];
    return value instanceof Date ? value.toISOString() : (value as SortValue);
  };
  return {
    items,
    total,
    nextCursor: rows.length > query.limit && last ? encodeCursor({ v: sortValue(last), id: last.id }) : null,
  };
}

export async function getRun(db: Db, id: number) {
  const run = await db.run.findFirst({
    where: { id, deletedAt: null },
    include: {
      params: { select: { key: true, value: true }, orderBy: { key: "asc" } },
      tags: { select: { key: true, value: true }, orderBy: { key: "asc" } },
      experiment: { select: { id: true, name: true } },
      // Not its token id: who registered a worker is nobody else's business.
      worker: {
        select: { id: true, name: true, host: true, backend: true, info: true, lastHeartbeatAt: true },
      },
    },
  });
  if (!run) throw new NotFoundError(`run ${id} does not exist`);
  return run;
}

/* ---------- Requeue, delete, purge ---------- */

/**
 * A finished run cannot go back to the queue (its status is history), so a requeue queues a
 * fresh run with the same config, like "clone and enqueue" in ClearML.
 */
export async function requeueRuns(db: Db, ids: number[]) {
  return db.$transaction(async (tx) => {
    const runs = await liveRunsOrThrow(tx, ids);
    refuseMlflowRuns(runs, "requeue");
    const active = runs.filter((r) => r.status === "queued" || r.status === "running");
    if (active.length)
      throw new ConflictError(
        `runs ${active.map((r) => `${r.id} (${r.status})`).join(", ")} have not finished; only finished runs can be requeued`,
      );
    const created = [];
    for (const run of runs) {
      const [copy] = await queueRuns(tx, run.experimentId, [
        {
          name: run.name,
          config: run.config as Hyperparams,
          priority: run.priority,
          maxAttempts: run.maxAttempts,
        },
      ]);
      if (!copy) continue;
      await tx.runLog.create({
        data: { runId: copy.id, message: `requeued from run ${run.id} (${run.status})` },
      });
      created.push(copy);
    }
    return created;
  });
}

/** Hides finished or queued runs (a running run must be cancelled first); purge frees them for good. */
export async function softDeleteRuns(db: Db, ids: number[], deleted: boolean, actor: string) {
  return db.$transaction(async (tx) => {
    // The rows stay locked until the end: a worker's claim (FOR UPDATE SKIP LOCKED) cannot
    // start one of them between the check and the delete.
    const locked = await tx.$queryRaw<{ id: number; status: string; source: string }[]>`
      SELECT id, status::text, source::text FROM "Run" WHERE id = ANY(${ids}::int[]) ORDER BY id FOR UPDATE`;
    // An MLflow run has no worker to stop: MLflow deletes it while it runs, and so does Labbook.
    const running = locked.filter((r) => r.status === "running" && r.source === "labbook");
    if (deleted && running.length)
      throw new ConflictError(`runs ${running.map((r) => r.id).join(", ")} are running; cancel them first`);
    const updated = await tx.run.updateMany({
      where: { id: { in: ids }, deletedAt: deleted ? null : { not: null } },
      data: deleted ? { deletedAt: new Date(), deletedBy: actor } : { deletedAt: null, deletedBy: null },
    });
    if (updated.count)
      await tx.auditEvent.create({
        data: { actor, action: deleted ? "run.delete" : "run.restore", detail: { runIds: ids } },
      });
    // A deleted queued run must never be claimed: cancel it on the way out.
    if (deleted)
      await tx.run.updateMany({
        where: { id: { in: ids }, status: "queued", source: "labbook" },
        data: { status: "cancelled", finishedAt: new Date() },
      });
    return { count: updated.count };
  });
}

/**
 * Removes soft-deleted runs with their metrics, logs, evaluations and artifacts. Runs whose
 * model is registered stay (the registry must keep its artifacts) and are reported.
 */
export async function purgeDeletedRuns(db: Db, experimentId: number | undefined, actor: string) {
  const candidates = await db.run.findMany({
    where: { deletedAt: { not: null }, ...(experimentId !== undefined ? { experimentId } : {}) },
    select: { id: true, _count: { select: { modelVersions: true } } },
  });
  const kept = candidates.filter((r) => r._count.modelVersions > 0).map((r) => r.id);
  const ids = candidates.filter((r) => r._count.modelVersions === 0).map((r) => r.id);
  if (!ids.length) return { runs: 0, metricPoints: 0, artifacts: 0, artifactBytes: 0, kept };
  return db.$transaction(async (tx) => {
    const [points, artifacts] = await Promise.all([
      tx.metricPoint.count({ where: { runId: { in: ids } } }),
      tx.artifact.aggregate({ where: { runId: { in: ids } }, _count: true, _sum: { size: true } }),
    ]);
    // Logs, evaluations and artifacts go with their run (ON DELETE CASCADE). Metric points
    // have no foreign key: they go right after the run, whose deletion waits for any ingest
    // holding the run's key-share lock, so no point can be left behind.
    const deleted = await tx.run.deleteMany({ where: { id: { in: ids } } });
    await tx.metricPoint.deleteMany({ where: { runId: { in: ids } } });
    await tx.auditEvent.create({
      data: { actor, action: "run.purge", detail: { experimentId: experimentId ?? null, runIds: ids } },
    });
    return {
      runs: deleted.count,
      metricPoints: points,
      artifacts: artifacts._count,
      artifactBytes: artifacts._sum.size ?? 0,
      kept,
    };
  });
}

/** Lines after `afterId`, or the last `limit` lines; oldest first. */
export async function runLogs(db: Db, runId: number, afterId?: bigint, limit = 500) {
  const logs =
    afterId !== undefined
      ? await db.runLog.findMany({
          where: { runId, id: { gt: afterId }, run: { deletedAt: null } },
          orderBy: { id: "asc" },
          take: limit,
        })
      : (
          await db.runLog.findMany({
            where: { runId, run: { deletedAt: null } },
            orderBy: { id: "desc" },
            take: limit,
          })
        ).reverse();
  // BigInt ids travel as strings in JSON.
  return logs.map((log) => ({ ...log, id: log.id.toString() }));
}
