// Tests that log points, lines or artifacts to a run must do it as the run's worker
// (src/server/services/run-writers.ts). This makes the runs "running, held by a local worker"
// for the length of `write`, as a claim would, and puts them back as they were afterwards.
import type { Db } from "@/server/db/client";

export async function asTheirWorker<T>(db: Db, runIds: number[], write: () => Promise<T>): Promise<T> {
  const worker = await db.worker.upsert({
    where: { name: "test-local-worker" },
    create: { name: "test-local-worker", host: "test", backend: "test", tokenId: null },
    update: {},
  });
  const before = await db.run.findMany({
    where: { id: { in: runIds } },
    select: { id: true, status: true, workerId: true, leaseExpiresAt: true },
  });
  await db.run.updateMany({
    where: { id: { in: runIds } },
    data: { status: "running", workerId: worker.id, leaseExpiresAt: new Date(Date.now() + 86_400_000) },
  });
  try {
    return await write();
  } finally {
    for (const run of before)
      await db.run.update({
        where: { id: run.id },
        data: { status: run.status, workerId: run.workerId, leaseExpiresAt: run.leaseExpiresAt },
      });
  }
}
