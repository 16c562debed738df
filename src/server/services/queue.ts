// The run queue: workers claim the oldest queued run of the highest priority with a row lock
// that skips locked rows (so concurrent workers never take the same run) and hold it by a
// lease they renew. Every status change goes through `transition`, which allows only the
// moves in RUN_TRANSITIONS.
import { Prisma, type Run } from "@/generated/prisma/client";
import type { Db } from "@/server/db/client";
import { ConflictError, NotFoundError } from "@/shared/errors";
import { canTransition, type RunStatus } from "@/shared/run-status";
import type { RunProgress } from "@/shared/workers";

export const DEFAULT_LEASE_MS = 60_000;

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

/** Moves a run from one of `from` to `to` atomically, or explains why it cannot. */
export async function transition(
  tx: Tx | Db,
  runId: number,
  to: RunStatus,
  data: Record<string, unknown> = {},
  guard: Record<string, unknown> = {},
): Promise<Run> {
  const run = await tx.run.findFirst({ where: { id: runId, deletedAt: null } });
  if (!run) throw new NotFoundError(`run ${runId} does not exist`);
  if (!canTransition(run.status, to)) {
    throw new ConflictError(`run ${runId} is ${run.status}; it cannot become ${to}`);
  }
  const updated = await tx.run.updateMany({
    where: { id: runId, status: run.status, ...guard },
    data: { status: to, ...data },
  });
  if (updated.count !== 1) {
    throw new ConflictError(`run ${runId} changed while becoming ${to}; try again`);
  }
  return tx.run.findUniqueOrThrow({ where: { id: runId } });
}

/** Claims the next queued run for `workerId`, or returns null when the queue is empty. */
export async function claimRun(db: Db, workerId: number, leaseMs = DEFAULT_LEASE_MS): Promise<Run | null> {
  const rows = await db.$queryRaw<{ id: number }[]>`
    UPDATE "Run" SET
      status = 'running',
      "workerId" = ${workerId},
      backend = (SELECT backend FROM "Worker" WHERE id = ${workerId}),
      "leaseExpiresAt" = now() + ${leaseMs} * interval '1 millisecond',
      attempt = attempt + 1,
      "startedAt" = COALESCE("startedAt", now()),
      "updatedAt" = now()
    WHERE id = (
      SELECT id FROM "Run"
      WHERE status = 'queued' AND source = 'labbook' AND "deletedAt" IS NULL AND "cancelRequestedAt" IS NULL
      ORDER BY priority DESC, "queuedAt" ASC, id ASC
      FOR UPDATE SKIP LOCKED
      LIMIT 1
    )
    RETURNING id`;
  const id = rows[0]?.id;
  return id === undefined ? null : db.run.findUniqueOrThrow({ where: { id } });
}

/** Renews the lease of a run the worker still holds; tells it whether a cancel was asked for. */
export async function heartbeat(
  db: Db,
  runId: number,
  workerId: number,
  leaseMs = DEFAULT_LEASE_MS,
  progress?: RunProgress,
): Promise<{ cancelRequested: boolean }> {
  const leaseExpiresAt = new Date(Date.now() + leaseMs);
  const updated = await db.run.updateMany({
    where: { id: runId, workerId, status: "running" },
    data: {
      leaseExpiresAt,
      ...(progress ? { progress: { ...progress, at: new Date().toISOString() } } : {}),
    },
  });
  if (updated.count !== 1) {
    throw new ConflictError(`worker ${workerId} no longer holds run ${runId}`);
  }
  await db.worker.update({ where: { id: workerId }, data: { lastHeartbeatAt: new Date() } });
  const run = await db.run.findUniqueOrThrow({ where: { id: runId }, select: { cancelRequestedAt: true } });
  return { cancelRequested: run.cancelRequestedAt !== null };
}

/** Ends a run the worker holds: succeeded, failed (with its error) or cancelled. */
export async function finishRun(
  db: Db,
  runId: number,
  workerId: number,
  outcome: { status: "succeeded" | "failed" | "cancelled"; error?: string; modelEpoch?: number },
): Promise<Run> {
  return transition(
    db,
    runId,
    outcome.status,
    {
      finishedAt: new Date(),
      leaseExpiresAt: null,
      error: outcome.error ?? null,
      ...(outcome.modelEpoch ? { modelEpoch: outcome.modelEpoch } : {}),
    },
    { workerId },
  );
}

/**
 * A worker that stops gracefully hands its run back: queued again at once, its attempt not
 * counted (the worker did not fail), to be resumed from its stored checkpoint.
 */
export async function releaseRun(db: Db, runId: number, workerId: number): Promise<Run> {
  const run = await transition(
    db,
    runId,
    "queued",
    { workerId: null, leaseExpiresAt: null, queuedAt: new Date(), progress: Prisma.DbNull },
    { workerId, status: "running" },
  );
  return db.run.update({ where: { id: runId }, data: { attempt: Math.max(0, run.attempt - 1) } });
}

/** The runs `ids` names, none deleted; NOT_FOUND lists any that are missing. */
export async function liveRunsOrThrow(tx: Tx | Db, ids: number[]): Promise<Run[]> {
  const runs = await tx.run.findMany({ where: { id: { in: ids }, deletedAt: null } });
  const missing = ids.filter((id) => !runs.some((r) => r.id === id));
  if (missing.length) throw new NotFoundError(`runs ${missing.join(", ")} do not exist`);
  return runs;
}

/** Runs Labbook's workers can train again: not those logged through MLflow by the user's own code. */
export function refuseMlflowRuns(runs: Pick<Run, "id" | "source">[], action: string): void {
  const external = runs.filter((r) => r.source === "mlflow");
  if (external.length)
    throw new ConflictError(
      `runs ${external.map((r) => r.id).join(", ")} were logged through the MLflow API by your own code; Labbook cannot ${action} them`,
    );
}

/** Further attempts a resumed run gets, as many as a new run gets by default. */
const RESUME_ATTEMPTS = 3;

/**
 * Cancelled or failed runs go back to the queue as themselves: the next worker resumes each
 * from its stored checkpoint, so its history continues with no gap and no repeated step.
 * Requeue, by contrast, starts a fresh run from scratch.
 */
export async function resumeRuns(db: Db, ids: number[]): Promise<Run[]> {
  return db.$transaction(async (tx) => {
    const runs = await liveRunsOrThrow(tx, ids);
    refuseMlflowRuns(runs, "resume");
    const unfit = runs.filter((r) => r.status !== "cancelled" && r.status !== "failed");
    if (unfit.length)
      throw new ConflictError(
        `runs ${unfit.map((r) => `${r.id} (${r.status})`).join(", ")} cannot be resumed; only cancelled or failed runs can`,
      );
    const withCheckpoint = new Set(
      (
        await tx.artifact.findMany({
          where: { runId: { in: ids }, name: "checkpoint" },
          select: { runId: true },
        })
      ).map((a) => a.runId),
    );
    const bare = runs.filter((r) => !withCheckpoint.has(r.id));
    if (bare.length)
      throw new ConflictError(
        `runs ${bare.map((r) => r.id).join(", ")} have no checkpoint (they stopped before their first epoch ended); requeue them instead`,
      );
    const resumed: Run[] = [];
    for (const run of runs) {
      resumed.push(
        await transition(
          tx,
          run.id,
          "queued",
          {
            queuedAt: new Date(),
            cancelRequestedAt: null,
            finishedAt: null,
            error: null,
            workerId: null,
            leaseExpiresAt: null,
            progress: Prisma.DbNull,
            maxAttempts: run.attempt + RESUME_ATTEMPTS,
          },
          { status: run.status },
        ),
      );
      await tx.runLog.create({
        data: {
          runId: run.id,
          message: `resume requested (was ${run.status} after epoch ${run.epochsDone})`,
        },
      });
    }
    return resumed;
  });
}

/** A queued run is cancelled at once; a running one is flagged, and its worker ends it. */
export async function requestCancel(db: Db, runId: number): Promise<Run> {
  return db.$transaction(async (tx) => {
    const run = await tx.run.findFirst({ where: { id: runId, deletedAt: null } });
    if (!run) throw new NotFoundError(`run ${runId} does not exist`);
    // No worker holds an MLflow run: it is killed at once, as MLflow's own UI would mark it.
    if (run.status === "queued" || (run.source === "mlflow" && run.status === "running"))
      return transition(tx, runId, "cancelled", { finishedAt: new Date() }, { status: run.status });
    if (run.status === "running")
      return tx.run.update({ where: { id: runId }, data: { cancelRequestedAt: new Date() } });
    throw new ConflictError(`run ${runId} is already ${run.status}`);
  });
}

/**
 * Runs whose lease ran out (their worker died) go back to the queue, or fail once they have
 * used all their attempts. Returns the ids requeued and failed.
 */
export async function expireLeases(
  db: Db,
  now = new Date(),
): Promise<{ requeued: number[]; failed: number[] }> {
  const expired = await db.run.findMany({
    where: { status: "running", leaseExpiresAt: { lt: now } },
    select: { id: true, attempt: true, maxAttempts: true, cancelRequestedAt: true },
  });
  const requeued: number[] = [];
  const failed: number[] = [];
  for (const run of expired) {
    const guard = { status: "running" as const, leaseExpiresAt: { lt: now } };
    try {
      if (run.cancelRequestedAt) {
        await transition(
          db,
          run.id,
          "cancelled",
          { finishedAt: now, leaseExpiresAt: null, workerId: null },
          guard,
        );
      } else if (run.attempt < run.maxAttempts) {
        await transition(
          db,
          run.id,
          "queued",
          { leaseExpiresAt: null, workerId: null, queuedAt: now },
          guard,
        );
        requeued.push(run.id);
      } else {
        const error = `the worker stopped responding (lease expired) on attempt ${run.attempt} of ${run.maxAttempts}`;
        await transition(db, run.id, "failed", { finishedAt: now, leaseExpiresAt: null, error }, guard);
        failed.push(run.id);
      }
    } catch (error) {
      // A worker renewed the lease meanwhile (the run is alive after all), or the run is gone:
      // neither may stop the queue from handing out the other runs.
      if (!(error instanceof ConflictError || error instanceof NotFoundError)) throw error;
    }
  }
  return { requeued, failed };
}
