// The leased run queue and metric ingest on their own fresh database (claims are global).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb, type Db } from "@/server/db/client";
import { applyMigrations } from "@/server/db/migrate";
import { recordMetrics } from "@/server/services/metrics";
import { claimRun, expireLeases, finishRun, heartbeat, requestCancel } from "@/server/services/queue";
import { queueRuns, softDeleteRuns } from "@/server/services/runs";
import { runSpecSchema } from "@/shared/experiments";
import { metricBatchSchema } from "@/shared/metrics";
import { createDatabase, dropDatabase } from "../helpers/database";
import { asTheirWorker } from "../helpers/held-run";
import { callProcedure } from "../helpers/trpc-http";

const adminUrl = inject("adminUrl");
let url: string;
let db: Db;
beforeAll(async () => {
  url = await createDatabase(adminUrl, "labbook_queue");
  await applyMigrations(url);
  db = createDb(url);
}, 120_000);
afterAll(async () => {
  await db?.$disconnect();
  if (url) await dropDatabase(adminUrl, url);
});

let counter = 0;
async function queue(count: number, extra: Record<string, unknown> = {}) {
  const experiment = await db.experiment.create({ data: { name: `queue-${counter++}` } });
  const spec = runSpecSchema.parse({ seeds: Array.from({ length: count }, (_, i) => i + 1), ...extra });
  return db.$transaction((tx) => queueRuns(tx, experiment.id, [spec]));
}
async function queueOne(extra: Record<string, unknown> = {}) {
  const [run] = await queue(1, extra);
  if (!run) throw new Error("no run was queued");
  return run;
}
const worker = (name: string) =>
  db.worker.create({ data: { name: `${name}-${counter++}`, host: "test", backend: "cpu" } });
async function drain() {
  while (await db.run.findFirst({ where: { status: "queued" } })) {
    await db.run.updateMany({ where: { status: "queued" }, data: { status: "cancelled" } });
  }
}

describe("claiming runs", () => {
  it("gives each of five runs to exactly one of two competing workers", async () => {
    await drain();
    const runs = await queue(5);
    const [a, b] = await Promise.all([worker("a"), worker("b")]);
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => claimRun(db, (i % 2 ? a : b).id)));
    const claimed = claims.filter((run) => run !== null);
    expect(claimed.map((run) => run.id).sort()).toEqual(runs.map((run) => run.id).sort());
    expect(claimed.every((run) => run.status === "running" && run.attempt === 1 && run.leaseExpiresAt)).toBe(
      true,
    );
    // The run records the backend of the worker that claimed it.
    expect(claimed.every((run) => run.backend === "cpu")).toBe(true);
    expect(await claimRun(db, a.id)).toBeNull();
  });

  it("takes the highest priority first, then the oldest", async () => {
    await drain();
    const low = await queueOne();
    const high = await queueOne({ priority: 5 });
    const later = await queueOne();
    const w = await worker("order");
    const order = [await claimRun(db, w.id), await claimRun(db, w.id), await claimRun(db, w.id)].map(
      (r) => r?.id,
    );
    expect(order).toEqual([high.id, low.id, later.id]);
  });
});

describe("leases", () => {
  it("expires leases past a run deleted while running, and keeps handing out runs", async () => {
    await drain();
    const w = await worker("deleted");
    const deleted = await queueOne();
    await db.run.update({
      where: { id: deleted.id },
      data: {
        status: "running",
        workerId: w.id,
        deletedAt: new Date(),
        leaseExpiresAt: new Date(Date.now() - 60_000),
      },
    });
    const next = await queueOne();
    await expect(expireLeases(db)).resolves.toBeDefined();
    expect((await claimRun(db, w.id))?.id).toBe(next.id);
    await db.run.update({ where: { id: deleted.id }, data: { status: "cancelled" } });
  });

  it("never leaves a run deleted and running when a delete and a claim race", async () => {
    await drain();
    const w = await worker("racer");
    for (let round = 0; round < 10; round++) {
      const run = await queueOne();
      await Promise.allSettled([
        softDeleteRuns(db, [run.id], true, "test"),
        new Promise((resolve) => setTimeout(resolve, round)).then(() => claimRun(db, w.id)),
      ]);
      const after = await db.run.findUniqueOrThrow({ where: { id: run.id } });
      expect(after.deletedAt !== null && after.status === "running", `round ${round}`).toBe(false);
      await db.run.update({ where: { id: run.id }, data: { status: "cancelled" } });
    }
  });

  it("requeue a dead worker's run with its attempt raised, and fail it after maxAttempts", async () => {
    await drain();
    const run = await queueOne({ maxAttempts: 2 });
    const w = await worker("dies");
    expect((await claimRun(db, w.id, 5_000))?.id).toBe(run.id);
    const later = new Date(Date.now() + 10_000);
    expect(await expireLeases(db, later)).toEqual({ requeued: [run.id], failed: [] });
    const second = await claimRun(db, w.id, 5_000);
    expect(second).toMatchObject({ id: run.id, attempt: 2 });
    expect(await expireLeases(db, new Date(Date.now() + 10_000))).toEqual({
      requeued: [],
      failed: [run.id],
    });
    const failed = await db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/lease expired\) on attempt 2 of 2/);
  });

  it("are renewed only by the worker holding the run, which learns of a cancel request", async () => {
    await drain();
    const run = await queueOne();
    const [holder, other] = await Promise.all([worker("holder"), worker("other")]);
    await claimRun(db, holder.id);
    await expect(heartbeat(db, run.id, other.id)).rejects.toThrow(/no longer holds/);
    expect(await heartbeat(db, run.id, holder.id)).toEqual({ cancelRequested: false });
    await requestCancel(db, run.id);
    expect(await heartbeat(db, run.id, holder.id)).toEqual({ cancelRequested: true });
    expect((await finishRun(db, run.id, holder.id, { status: "cancelled" })).status).toBe("cancelled");
  });
});

describe("the status state machine", () => {
  it("allows only queued → running → succeeded/failed/cancelled", async () => {
    await drain();
    const run = await queueOne();
    const w = await worker("states");
    await expect(finishRun(db, run.id, w.id, { status: "succeeded" })).rejects.toThrow(
      /is queued; it cannot become succeeded/,
    );
    await claimRun(db, w.id);
    const failed = await finishRun(db, run.id, w.id, {
      status: "failed",
      error: "trainer threw: out of memory",
    });
    expect(failed).toMatchObject({ status: "failed", error: "trainer threw: out of memory" });
    await expect(finishRun(db, run.id, w.id, { status: "succeeded" })).rejects.toThrow(
      /is failed; it cannot become succeeded/,
    );
    await expect(requestCancel(db, run.id)).rejects.toThrow(/already failed/);
  });

  it("cancels a queued run at once", async () => {
    const run = await queueOne();
    expect((await requestCancel(db, run.id)).status).toBe("cancelled");
  });
});

describe("metric ingest", () => {
  const epoch = (step: number, valAccuracy: number, valLoss: number) => [
    { key: "val_accuracy", step, value: valAccuracy },
    { key: "val_loss", step, value: valLoss },
    { key: "loss", step, value: valLoss + 0.1 },
  ];

  it("stores 1,000 points in one batch, idempotently, and updates the summary columns", async () => {
    const run = await queueOne();
    const points = Array.from({ length: 1000 }, (_, i) => ({
      key: `sys/metric_${i % 10}`,
      step: Math.floor(i / 10),
      value: i,
    }));
    expect(
      await recordMetrics(db, run.id, metricBatchSchema.parse({ runId: run.id, points }).points),
    ).toEqual({ stored: 1000 });
    await recordMetrics(db, run.id, points);
    expect(await db.metricPoint.count({ where: { runId: run.id } })).toBe(1000);

    await recordMetrics(db, run.id, [...epoch(1, 0.4, 1.6), ...epoch(2, 0.55, 1.2), ...epoch(3, 0.5, 1.3)]);
    // A replayed epoch replaces, never duplicates.
    await recordMetrics(db, run.id, epoch(3, 0.52, 1.25));
    const summary = await db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(summary).toMatchObject({
      epochsDone: 3,
      bestValAccuracy: 0.55,
      lastValAccuracy: 0.52,
      bestValLoss: 1.2,
      lastValLoss: 1.25,
      bestEpoch: 2,
    });
  });

  it("replays a batch that overlaps stored steps: new steps added, stored ones replaced, none twice", async () => {
    const run = await queueOne();
    const points = (from: number, to: number, value: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ key: "sys/cpu_percent", step: from + i, value }));
    await recordMetrics(db, run.id, points(1, 600, 1));
    // Steps 401–600 are stored already: the plain insert fails on them and the batch is upserted.
    await recordMetrics(db, run.id, points(401, 1000, 2));
    const rows = await db.metricPoint.groupBy({
      by: ["value"],
      where: { runId: run.id },
      _count: true,
      orderBy: { value: "asc" },
    });
    expect(rows.map((r) => [r.value, r._count])).toEqual([
      [1, 400],
      [2, 600],
    ]);
  });

  it("refuses points for a finished run", async () => {
    const run = await queueOne();
    await requestCancel(db, run.id);
    await expect(recordMetrics(db, run.id, epoch(1, 0.1, 2))).rejects.toThrow(
      /is cancelled; it no longer takes metrics/,
    );
  });
});

describe("metric batch endpoint", () => {
  const baseUrl = inject("baseUrl");
  const shared = createDb(inject("databaseUrl"));
  afterAll(() => shared.$disconnect());

  async function sharedRun() {
    const experiment = await shared.experiment.create({
      data: { name: `metrics-http-${Date.now()}-${counter++}` },
    });
    const spec = runSpecSchema.parse({});
    const [run] = await shared.$transaction((tx) => queueRuns(tx, experiment.id, [spec]));
    if (!run) throw new Error("no run was queued");
    return run;
  }

  it("stores 1,000 points from one request", async () => {
    const run = await sharedRun();
    const points = Array.from({ length: 1000 }, (_, i) => ({ key: "loss", step: i, value: 1 / (i + 1) }));
    const response = await asTheirWorker(shared, [run.id], () =>
      callProcedure(baseUrl, "metric.log", { runId: run.id, points }),
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(await shared.metricPoint.count({ where: { runId: run.id } })).toBe(1000);
  });

  it("refuses a NaN step, a 10 MB body and a remote client without a token, storing nothing", async () => {
    const run = await sharedRun();
    const nan = await callProcedure(baseUrl, "metric.log", {
      runId: run.id,
      points: [{ key: "loss", step: "NaN", value: 1 }],
    });
    expect(nan.status).toBe(400);
    expect(nan.body.error?.message).toContain("points[0].step must be a number");

    const huge = await fetch(new URL("/api/trpc/metric.log", baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        runId: run.id,
        points: [{ key: "loss", step: 0, value: 1 }],
        pad: "x".repeat(10 * 1024 * 1024),
      }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { message: string } }).error.message).toMatch(
      /larger than 4 MiB/,
    );

    const remote = await callProcedure(
      baseUrl,
      "metric.log",
      { runId: run.id, points: [{ key: "loss", step: 0, value: 1 }] },
      { headers: { "x-forwarded-for": "198.51.100.4" } },
    );
    expect(remote.status).toBe(401);
    expect(await shared.metricPoint.count({ where: { runId: run.id } })).toBe(0);
  });
});
