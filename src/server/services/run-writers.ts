// Who may write to a run (metric points, log lines, artifacts through Labbook's own API), by
// the run's state:
// - a Labbook run that is running: only the worker holding it, by the token that registered
//   that worker (a local worker has none, and a local caller without one matches it);
// - a Labbook run that is queued or has ended: nobody (a checkpoint stored on a queued run
//   would be resumed from by the next worker; a finished run's record is final);
// - an MLflow run: only through MLflow's API, whose callers log their own runs until deleted;
// - a deleted run: nobody.
// The queue's own updates (heartbeat, finish, release, evaluation) hold to the same rule in
// their WHERE clauses, so a lost lease is noticed atomically.
import type { Db } from "@/server/db/client";
import { ConflictError, ForbiddenError, NotFoundError } from "@/shared/errors";

export async function assertWorkerMayWrite(
  db: Db,
  runId: number,
  caller: { kind: string; tokenId: number | null },
): Promise<void> {
  // A browser session has no token either: it must not pass for a local worker.
  if (caller.kind === "session")
    throw new ForbiddenError("workers write to runs with an API token, not a session");
  const { tokenId } = caller;
  const run = await db.run.findUnique({
    where: { id: runId },
    select: { status: true, source: true, deletedAt: true, worker: { select: { tokenId: true } } },
  });
  if (!run || run.deletedAt) throw new NotFoundError(`run ${runId} does not exist`);
  if (run.source === "mlflow")
    throw new ForbiddenError(`run ${runId} is an MLflow run; log to it through MLflow's API`);
  if (run.status !== "running")
    throw new ConflictError(`run ${runId} is ${run.status}; only a running run's worker writes to it`);
  if (run.worker?.tokenId !== tokenId)
    throw new ForbiddenError(`run ${runId} is held by another worker; only that worker's token writes to it`);
}
