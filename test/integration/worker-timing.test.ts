// Workers on epochs that outlast the lease and the heartbeat interval many times over: batches
// that really block their thread for seconds (as a synchronous backend's step does), and the
// real model on the real CIFAR-10. Heartbeats must stay on time, nothing may be stolen, and
// cancel, SIGTERM and a lost lease must act within 5 s.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb, type Db } from "@/server/db/client";
import { freePort } from "@/server/db/embedded-postgres";
import { applyMigrations } from "@/server/db/migrate";
import { defaultDataDir } from "@/trainer/data/cifar10-format";
import { fetchCifar10 } from "@/trainer/data/fetch";
import { type HeartbeatReport, watchHeartbeats } from "../../scripts/lib/heartbeat-monitor";
import { type LabbookProcess, startLabbook } from "../../scripts/lib/labbook-process";
import {
  exited,
  startWorker as spawnWorker,
  stopWorker,
  until,
  type WorkerProcess,
} from "../../scripts/lib/worker-process";
import { createDatabase, dropDatabase } from "../helpers/database";
import { writeSyntheticCifar } from "../helpers/synthetic-cifar";
import { callProcedure } from "../helpers/trpc-http";

const adminUrl = inject("adminUrl");
const syntheticDir = writeSyntheticCifar(60);
const state = mkdtempSync(path.join(tmpdir(), "labbook-worker-timing-"));
const HEARTBEAT_MS = 1_000;
const LEASE_MS = 5_000; // the shortest lease the API takes
/**
 * The most time between two heartbeats, on the server's clock: the interval plus 2 s, still 2 s
 * inside the lease. CI runs another test file beside this one, and gaps of 2.06–2.53 s came up
 * (sessions 10–13) under the first bound, the interval plus 1 s. A heartbeat that waits for a
 * blocked batch (4 s below) still fails it.
 */
const MAX_GAP_MS = HEARTBEAT_MS + 2_000;
let url: string;
let db: Db;
let pool: pg.Pool;
let server: LabbookProcess;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  url = await createDatabase(adminUrl, "labbook_worker_timing");
  await applyMigrations(url);
  db = createDb(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
  server = await startLabbook({ DATABASE_URL: url, LABBOOK_PORT: String(await freePort()) });
}, 180_000);

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => stopWorker(worker, "SIGKILL")));
});

afterAll(async () => {
  await server?.stop();
  await pool?.end();
  await db?.$disconnect();
  if (url) await dropDatabase(adminUrl, url);
  rmSync(syntheticDir, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

function startWorker(
  name: string,
  options: { blockAfterBatchMs?: number; dataDir?: string; official?: boolean } = {},
): WorkerProcess {
  const child = spawnWorker({
    url: server.baseUrl,
    name,
    dataDir: options.dataDir ?? syntheticDir,
    stateDir: state,
    leaseMs: LEASE_MS,
    heartbeatMs: HEARTBEAT_MS,
    blockAfterBatchMs: options.blockAfterBatchMs,
    officialData: options.official,
    backend: options.official ? "auto" : "wasm",
  });
  workers.push(child);
  return child;
}

let experiments = 0;
async function queueRuns(count: number, config: Record<string, unknown>): Promise<number[]> {
  const response = await callProcedure<{ runIds: number[] }>(server.baseUrl, "experiment.create", {
    name: `timing-${experiments++}`,
    runs: [{ config, seeds: Array.from({ length: count }, (_, i) => i + 1) }],
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.result?.data.runIds ?? [];
}

/** 64 synthetic training images in batches of 16: four batches, each blocking `blockMs`. */
const blockingConfig = (epochs: number) => ({
  batchSize: 16,
  trainLimit: 64,
  validationSplit: 0.1,
  epochs,
  augmentation: { enabled: false },
});

const status = async (id: number) => (await db.run.findUniqueOrThrow({ where: { id } })).status;
const settled = (ids: number[]) => async () => {
  const runs = await db.run.findMany({ where: { id: { in: ids } }, orderBy: { id: "asc" } });
  return runs.every((r) => ["succeeded", "failed", "cancelled"].includes(r.status)) ? runs : null;
};
const steps = async (id: number, key: string) =>
  (await db.metricPoint.findMany({ where: { runId: id, key }, orderBy: { step: "asc" } })).map((p) => p.step);
/** Names of the workers that started an attempt of the run (from the run's log). */
const attemptsOf = async (id: number) =>
  (await db.runLog.findMany({ where: { runId: id }, orderBy: { id: "asc" } }))
    .map((line) => /^attempt (\d+) on (\S+)/.exec(line.message))
    .filter((m) => m !== null)
    .map((m) => `${m[1]}:${m[2]}`);

function expectTimelyHeartbeats(report: HeartbeatReport) {
  expect(report.gaps.length).toBeGreaterThan(0);
  expect(report.maxGap?.gapMs ?? 0, JSON.stringify(report.maxGap)).toBeLessThanOrEqual(MAX_GAP_MS);
}

describe("workers on epochs longer than the lease", () => {
  it("three workers, four runs of 4 s batches: one worker and one attempt each, heartbeats on time", async () => {
    // An epoch: 4 batches × 4 s = 16 s, three times the lease and sixteen heartbeat intervals.
    const ids = await queueRuns(4, blockingConfig(2));
    const monitor = watchHeartbeats(pool);
    for (const name of ["t-a", "t-b", "t-c"]) startWorker(name, { blockAfterBatchMs: 4_000 });
    const runs = await until(settled(ids), "four runs to finish", 240_000);
    const report = await monitor.stop();
    expect(runs.map((r) => [r.id, r.status, r.attempt])).toEqual(ids.map((id) => [id, "succeeded", 1]));
    for (const id of ids) {
      expect(await attemptsOf(id)).toHaveLength(1);
      expect(report.holders.get(id)?.size).toBe(1);
      expect(await steps(id, "val_accuracy")).toEqual([1, 2]);
      // Batch-level points stream between epochs: 4 per epoch, at steps 1..8.
      expect(await steps(id, "batch/loss")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const epochs = await db.metricPoint.findMany({ where: { runId: id, key: "val_accuracy" } });
      // Each epoch keeps the time it was measured: 16 s of blocked batches apart.
      const [first, second] = epochs.map((p) => p.wallTime.getTime()).sort();
      expect((second as number) - (first as number)).toBeGreaterThan(15_000);
    }
    expectTimelyHeartbeats(report);
  }, 300_000);

  it("cancel stops a run within 5 s, mid-epoch", async () => {
    const [id] = (await queueRuns(1, blockingConfig(50))) as [number];
    const monitor = watchHeartbeats(pool);
    startWorker("t-cancel", { blockAfterBatchMs: 2_000 });
    await until(
      async () =>
        ((await db.run.findUnique({ where: { id } }))?.progress as { batch?: number } | null)?.batch,
      "the first batch",
    );
    const asked = Date.now();
    expect((await callProcedure(server.baseUrl, "run.cancel", { id })).status).toBe(200);
    await until(async () => (await status(id)) === "cancelled", "the cancel", 20_000);
    expect(Date.now() - asked).toBeLessThan(5_000);
    expectTimelyHeartbeats(await monitor.stop());
  }, 120_000);

  it("cancel ends a step that outlasts the grace: the thread is ended, and the worker trains on", async () => {
    const [id] = (await queueRuns(1, blockingConfig(50))) as [number];
    const worker = startWorker("t-stuck", { blockAfterBatchMs: 20_000 });
    await until(async () => (await status(id)) === "running", "the claim");
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // inside the first 20 s step
    const asked = Date.now();
    expect((await callProcedure(server.baseUrl, "run.cancel", { id })).status).toBe(200);
    await until(async () => (await status(id)) === "cancelled", "the cancel", 20_000);
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(worker.log()).toMatch(/did not stop within \d+ ms; ending its thread/);
    // A new training thread takes the next run.
    const [next] = (await queueRuns(1, { ...blockingConfig(1), trainLimit: 16 })) as [number];
    const [run] = await until(settled([next]), "the next run", 90_000);
    expect(run).toMatchObject({ status: "succeeded", attempt: 1 });
  }, 180_000);

  it("SIGTERM hands the run back within 5 s, attempt not spent", async () => {
    const [id] = (await queueRuns(1, blockingConfig(50))) as [number];
    const worker = startWorker("t-term", { blockAfterBatchMs: 2_000 });
    await until(
      async () =>
        ((await db.run.findUnique({ where: { id } }))?.progress as { batch?: number } | null)?.batch,
      "the first batch",
    );
    const asked = Date.now();
    worker.kill("SIGTERM");
    await exited(worker);
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(worker.log()).toContain("handed the run back to the queue");
    expect(await db.run.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "queued", attempt: 0 });
    await db.run.update({ where: { id }, data: { status: "cancelled" } });
  }, 120_000);

  it("a lost lease (409 on heartbeat) stops the worker's training within 5 s", async () => {
    const [id] = (await queueRuns(1, blockingConfig(50))) as [number];
    const worker = startWorker("t-lease", { blockAfterBatchMs: 2_000 });
    await until(
      async () =>
        ((await db.run.findUnique({ where: { id } }))?.progress as { batch?: number } | null)?.batch,
      "the first batch",
    );
    // As if the lease had expired and another worker had claimed the run (flagged for cancel,
    // so that this worker does not claim it back).
    const taken = Date.now();
    await db.run.update({
      where: { id },
      data: { workerId: null, status: "queued", cancelRequestedAt: new Date() },
    });
    await until(
      async () => worker.log().includes("dropping this attempt") && worker.log(),
      "the drop",
      20_000,
    );
    expect(Date.now() - taken).toBeLessThan(5_000);
    await db.run.update({ where: { id }, data: { status: "cancelled" } });
  }, 120_000);

  it("real CIFAR-10 and the real model: heartbeats on time through batches, validation and the test pass", async () => {
    const dataDir = await fetchCifar10({ dir: defaultDataDir() });
    // 12,800 images (200 batches), then validation on 5,000 and the test pass on 10,000: each
    // phase blocks the training thread for many heartbeat intervals. With 640 images the native
    // training step finished the whole run in about 15 s, no longer three leases.
    const [id] = (await queueRuns(1, { epochs: 1, trainLimit: 12_800, normalization: "zscore" })) as [number];
    const monitor = watchHeartbeats(pool);
    const started = Date.now();
    startWorker("t-real", { dataDir, official: true });
    const [run] = await until(settled([id]), "the real run", 400_000);
    const report = await monitor.stop();
    expect(run).toMatchObject({ status: "succeeded", attempt: 1, epochsDone: 1 });
    expect(run?.testAccuracy).not.toBeNull();
    // The run outlasted the lease several times over, so timely heartbeats were what kept it.
    expect(Date.now() - started).toBeGreaterThan(3 * LEASE_MS);
    expect(report.gaps.length).toBeGreaterThan(10);
    expectTimelyHeartbeats(report);
  }, 600_000);
});
