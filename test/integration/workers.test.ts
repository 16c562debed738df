// Real worker processes against a real Labbook server and PostgreSQL: runs taken once, kill -9
// and resume, a server restart mid-training, cancel, and a failing trainer.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb, type Db } from "@/server/db/client";
import { freePort } from "@/server/db/embedded-postgres";
import { applyMigrations } from "@/server/db/migrate";
import { type LabbookProcess, startLabbook } from "../../scripts/lib/labbook-process";
import {
  startWorker as spawnWorker,
  stopWorker,
  until,
  type WorkerProcess,
} from "../../scripts/lib/worker-process";
import { createDatabase, dropDatabase } from "../helpers/database";
import { writeSyntheticCifar } from "../helpers/synthetic-cifar";
import { callProcedure } from "../helpers/trpc-http";

const adminUrl = inject("adminUrl");
const dataDir = writeSyntheticCifar(60);
const state = mkdtempSync(path.join(tmpdir(), "labbook-workers-"));
let url: string;
let db: Db;
let port: number;
let server: LabbookProcess;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  url = await createDatabase(adminUrl, "labbook_workers");
  await applyMigrations(url);
  db = createDb(url);
  port = await freePort();
  server = await startLabbook({ DATABASE_URL: url, LABBOOK_PORT: String(port) });
}, 180_000);

// A worker left running would claim the next test's runs.
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => stopWorker(worker, "SIGKILL")));
});

afterAll(async () => {
  await server?.stop();
  await db?.$disconnect();
  if (url) await dropDatabase(adminUrl, url);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

function startWorker(name: string, options: { dataDir?: string; leaseMs?: number } = {}): WorkerProcess {
  const child = spawnWorker({
    url: `http://127.0.0.1:${port}`,
    name,
    dataDir: options.dataDir ?? dataDir,
    stateDir: state,
    leaseMs: options.leaseMs,
  });
  workers.push(child);
  return child;
}

let experiments = 0;
async function queueRuns(count: number, config: Record<string, unknown>): Promise<number[]> {
  const response = await callProcedure<{ runIds: number[] }>(server.baseUrl, "experiment.create", {
    name: `workers-${experiments++}`,
    runs: [
      {
        config: { batchSize: 16, validationSplit: 0.1, trainLimit: 48, ...config },
        seeds: Array.from({ length: count }, (_, i) => i + 1),
      },
    ],
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.result?.data.runIds ?? [];
}

async function epochsOf(runId: number): Promise<number[]> {
  const points = await db.metricPoint.findMany({
    where: { runId, key: "val_accuracy" },
    orderBy: { step: "asc" },
  });
  return points.map((p) => p.step);
}

const settled = (ids: number[]) => async () => {
  const runs = await db.run.findMany({ where: { id: { in: ids } } });
  return runs.every((r) => ["succeeded", "failed", "cancelled"].includes(r.status)) ? runs : null;
};

describe("workers", () => {
  it("two workers take each of five runs once and train them to the end", async () => {
    const ids = await queueRuns(5, { epochs: 2 });
    const a = startWorker("a");
    const b = startWorker("b");
    const runs = await until(settled(ids), "five runs to finish");
    expect(runs.map((r) => r.status)).toEqual([
      "succeeded",
      "succeeded",
      "succeeded",
      "succeeded",
      "succeeded",
    ]);
    expect(
      runs.every(
        (r) => r.attempt === 1 && r.workerId !== null && r.testAccuracy !== null && r.epochsDone === 2,
      ),
    ).toBe(true);
    for (const run of runs) {
      expect(await epochsOf(run.id)).toEqual([1, 2]);
      const artifacts = await db.artifact.findMany({
        where: { runId: run.id },
        select: { name: true, kind: true },
      });
      expect(artifacts.map((x) => x.name).sort()).toEqual([
        "augmentation-preview.png",
        "checkpoint",
        "dataset.json",
        "layers.json",
        "model.json",
        "weights.bin",
      ]);
      const evaluation = await db.evaluation.findFirstOrThrow({ where: { runId: run.id } });
      expect((evaluation.confusionMatrix as number[][]).flat().reduce((x, y) => x + y, 0)).toBe(60);
      expect(await db.metricPoint.count({ where: { runId: run.id, key: "sys/cpu_percent" } })).toBe(2);
    }
    await Promise.all([stopWorker(a), stopWorker(b)]);
  }, 300_000);

  it("resumes a run on another worker after kill -9, with every epoch stored once", async () => {
    const [id] = await queueRuns(1, { epochs: 4, trainLimit: 96 });
    const first = startWorker("killed");
    await until(
      async () => ((await db.run.findUnique({ where: { id } }))?.epochsDone ?? 0) >= 2,
      "two epochs",
    );
    await stopWorker(first, "SIGKILL");
    const killedAt = new Date();
    const second = startWorker("survivor");
    const [run] = await until(settled([id as number]), "the resumed run to finish");
    expect(run).toMatchObject({ status: "succeeded", attempt: 2, epochsDone: 4 });
    expect(await epochsOf(id as number)).toEqual([1, 2, 3, 4]);
    const logs = await db.runLog.findMany({ where: { runId: id }, orderBy: { id: "asc" } });
    const resumedAfter = Number(
      logs.map((l) => /resuming after epoch (\d)/.exec(l.message)?.[1]).find(Boolean),
    );
    expect(resumedAfter).toBeGreaterThanOrEqual(2);
    // Replayed epochs keep the time they were trained, not the time of the replay.
    const points = await db.metricPoint.findMany({ where: { runId: id, key: "val_accuracy" } });
    for (const point of points.filter((p) => p.step <= resumedAfter))
      expect(point.wallTime.getTime()).toBeLessThan(killedAt.getTime());
    await stopWorker(second);
  }, 300_000);

  it("hands its run back at once when stopped with SIGTERM, without spending an attempt", async () => {
    const [id] = await queueRuns(1, { epochs: 4, trainLimit: 96 });
    // A lease far longer than the test: only the hand-back can requeue the run in time.
    const first = startWorker("stopped", { leaseMs: 600_000 });
    await until(
      async () => ((await db.run.findUnique({ where: { id } }))?.epochsDone ?? 0) >= 2,
      "two epochs",
    );
    await stopWorker(first, "SIGTERM");
    expect(first.log()).toContain("handed the run back to the queue");
    expect(await db.run.findUnique({ where: { id } })).toMatchObject({
      status: "queued",
      attempt: 0,
      workerId: null,
    });
    const second = startWorker("successor");
    const [run] = await until(settled([id as number]), "the handed-back run to finish");
    expect(run).toMatchObject({ status: "succeeded", attempt: 1, epochsDone: 4 });
    expect(await epochsOf(id as number)).toEqual([1, 2, 3, 4]);
    await stopWorker(second);
  }, 300_000);

  it("loses no epoch when the server restarts during training", async () => {
    const [id] = await queueRuns(1, { epochs: 6, trainLimit: 64 });
    const worker = startWorker("outage", { leaseMs: 60_000 });
    await until(
      async () => ((await db.run.findUnique({ where: { id } }))?.epochsDone ?? 0) >= 1,
      "the first epoch",
    );
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // the worker trains on, offline
    server = await startLabbook({ DATABASE_URL: url, LABBOOK_PORT: String(port) });
    const [run] = await until(settled([id as number]), "the run to finish after the restart");
    expect(run).toMatchObject({ status: "succeeded", attempt: 1, epochsDone: 6 });
    expect(await epochsOf(id as number)).toEqual([1, 2, 3, 4, 5, 6]);
    await stopWorker(worker);
  }, 300_000);

  it("cancels a running run within seconds", async () => {
    const [id] = await queueRuns(1, { epochs: 200, trainLimit: 96 });
    const worker = startWorker("cancel");
    await until(
      async () => ((await db.run.findUnique({ where: { id } }))?.epochsDone ?? 0) >= 1,
      "the first epoch",
    );
    const asked = Date.now();
    expect((await callProcedure(server.baseUrl, "run.cancel", { id })).status).toBe(200);
    const [run] = await until(settled([id as number]), "the cancel", 30_000);
    expect(run?.status).toBe("cancelled");
    expect(Date.now() - asked).toBeLessThan(15_000);
    await stopWorker(worker);
  }, 120_000);

  it("resumes a cancelled run from its checkpoint: same run, history continued once", async () => {
    const [id] = (await queueRuns(1, { epochs: 5, trainLimit: 96 })) as [number];
    const worker = startWorker("resume");
    await until(
      async () => ((await db.run.findUnique({ where: { id } }))?.epochsDone ?? 0) >= 2,
      "two epochs",
    );
    expect((await callProcedure(server.baseUrl, "run.cancel", { id })).status).toBe(200);
    const [cancelled] = await until(settled([id]), "the cancel", 30_000);
    expect(cancelled?.status).toBe("cancelled");
    const stoppedAfter = cancelled?.epochsDone as number;
    // A succeeded run, and a run with no checkpoint, cannot be resumed; nothing changes.
    const [fresh] = (await queueRuns(1, { epochs: 1 })) as [number];
    await until(
      async () => (await db.run.findUnique({ where: { id: fresh } }))?.status === "succeeded",
      "the short run",
    );
    await db.artifact.deleteMany({ where: { runId: fresh, name: "checkpoint" } });
    const refused = await callProcedure(server.baseUrl, "run.resume", { ids: [fresh] });
    expect(refused.status).toBe(409);
    expect(refused.body.error?.message).toMatch(/cannot be resumed; only cancelled or failed runs can/);
    const bare = await db.run.update({ where: { id: fresh }, data: { status: "failed" } });
    const noCheckpoint = await callProcedure(server.baseUrl, "run.resume", { ids: [bare.id] });
    expect(noCheckpoint.status).toBe(409);
    expect(noCheckpoint.body.error?.message).toMatch(/have no checkpoint/);
    expect((await db.run.findUniqueOrThrow({ where: { id: fresh } })).status).toBe("failed");

    expect((await callProcedure(server.baseUrl, "run.resume", { ids: [id] })).status).toBe(200);
    const [run] = await until(settled([id]), "the resumed run to finish");
    expect(run).toMatchObject({ status: "succeeded", attempt: 2, epochsDone: 5, error: null });
    expect(await epochsOf(id)).toEqual([1, 2, 3, 4, 5]);
    const logs = (await db.runLog.findMany({ where: { runId: id }, orderBy: { id: "asc" } })).map(
      (l) => l.message,
    );
    expect(logs).toContain(`resuming after epoch ${stoppedAfter}`);
    expect(logs.some((m) => m.startsWith("resume requested (was cancelled"))).toBe(true);
    await stopWorker(worker);
  }, 300_000);

  it("marks a run whose trainer throws as failed, with the error", async () => {
    const empty = mkdtempSync(path.join(tmpdir(), "labbook-no-data-"));
    const [id] = await queueRuns(1, { epochs: 2 });
    const worker = startWorker("broken", { dataDir: empty });
    const [run] = await until(settled([id as number]), "the failure", 60_000);
    expect(run?.status).toBe("failed");
    expect(run?.error).toMatch(/data_batch_1\.bin: missing from/);
    await stopWorker(worker);
    rmSync(empty, { recursive: true, force: true });
  }, 120_000);
});
