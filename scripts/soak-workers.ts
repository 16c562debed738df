// A soak of the worker protocol on the real CIFAR-10: a server, N workers and M runs whose
// epochs last minutes. Mid-way it cancels one run, SIGTERMs one worker and kill -9s another
// (each replaced by a fresh worker, as a supervisor would), then reports per run its attempts,
// workers, epochs stored and duplicates, the largest heartbeat gap, and the latencies.
//
//   npx tsx scripts/soak-workers.ts [--workers 3] [--runs 4] [--epochs 2] [--train-limit 9600]
//                                   [--lease-ms 30000] [--heartbeat-ms 2000]
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { startEmbeddedPostgres } from "../src/server/db/embedded-postgres";
import { applyMigrations } from "../src/server/db/migrate";
import { defaultDataDir } from "../src/trainer/data/cifar10-format";
import { fetchCifar10 } from "../src/trainer/data/fetch";
import { LabbookClient } from "../src/trainer/worker/client";
import { watchHeartbeats } from "./lib/heartbeat-monitor";
import { startLabbook } from "./lib/labbook-process";
import { exited, startWorker, stopWorker, until, type WorkerProcess } from "./lib/worker-process";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "3" },
    runs: { type: "string", default: "4" },
    epochs: { type: "string", default: "2" },
    "train-limit": { type: "string", default: "9600" },
    "lease-ms": { type: "string", default: "30000" },
    "heartbeat-ms": { type: "string", default: "2000" },
  },
});
const workerCount = Number(values.workers);
const runCount = Number(values.runs);
const leaseMs = Number(values["lease-ms"]);
const heartbeatMs = Number(values["heartbeat-ms"]);
if (workerCount < 3) throw new Error("--workers must be at least 3 (one is stopped, one killed)");

const dataDir = await fetchCifar10({ dir: defaultDataDir() });
const dir = mkdtempSync(path.join(tmpdir(), "labbook-soak-"));
chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "pg") });
await applyMigrations(cluster.url);
const labbook = await startLabbook({ DATABASE_URL: cluster.url });
const pool = new pg.Pool({ connectionString: cluster.url, max: 3 });
const api = new LabbookClient(labbook.baseUrl);
const workers = new Map<string, WorkerProcess>();
const started = Date.now();
const clock = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s`;
const say = (message: string) => console.log(`[${clock()}] ${message}`);

function launch(name: string): WorkerProcess {
  const worker = startWorker({
    url: labbook.baseUrl,
    name,
    dataDir,
    stateDir: path.join(dir, "workers"),
    leaseMs,
    heartbeatMs,
    backend: "auto",
    officialData: true,
  });
  workers.set(name, worker);
  return worker;
}

const runRow = async (id: number) =>
  (
    await pool.query<{ status: string; workerId: number | null; progress: { batch?: number } | null }>(
      `SELECT status, "workerId", progress FROM "Run" WHERE id = $1`,
      [id],
    )
  ).rows[0];
const workerName = async (id: number) =>
  (await pool.query<{ name: string }>(`SELECT name FROM "Worker" WHERE id = $1`, [id])).rows[0]?.name;

try {
  const { runIds } = await api.mutation<{ runIds: number[] }>("experiment.create", {
    name: "soak",
    runs: ["zscore", "sfs"].map((normalization) => ({
      config: { normalization, epochs: Number(values.epochs), trainLimit: Number(values["train-limit"]) },
      seeds: Array.from({ length: Math.ceil(runCount / 2) }, (_, i) => i + 1),
    })),
  });
  const ids = runIds.slice(0, runCount);
  for (const extra of runIds.slice(runCount)) await api.mutation("run.cancel", { id: extra });
  say(
    `queued runs ${ids.join(", ")}; starting ${workerCount} workers (lease ${leaseMs} ms, heartbeat ${heartbeatMs} ms)`,
  );
  const monitor = watchHeartbeats(pool);
  for (let i = 1; i <= workerCount; i++) launch(`soak-${i}`);

  // Mid-epoch 1 on every worker: the three disruptions, one after the other.
  const busy = await until(
    async () => {
      const rows = await Promise.all(ids.map(async (id) => ({ id, ...(await runRow(id)) })));
      const training = rows.filter((r) => r.status === "running" && (r.progress?.batch ?? 0) >= 20);
      return training.length >= 3 ? training : null;
    },
    "three runs mid-epoch",
    30 * 60_000,
  );
  const [toCancel, onStopped, onKilled] = busy as [(typeof busy)[0], (typeof busy)[0], (typeof busy)[0]];

  let asked = Date.now();
  await api.mutation("run.cancel", { id: toCancel.id });
  await until(async () => (await runRow(toCancel.id))?.status === "cancelled", "the cancel", 120_000);
  const cancelMs = Date.now() - asked;
  say(`run ${toCancel.id} cancelled in ${cancelMs} ms`);

  const stoppedName = (await workerName(onStopped.workerId as number)) as string;
  const stopped = workers.get(stoppedName) as WorkerProcess;
  asked = Date.now();
  stopped.kill("SIGTERM");
  await exited(stopped);
  const stopExitMs = Date.now() - asked;
  const handedBack = (await runRow(onStopped.id))?.status === "queued";
  say(
    `${stoppedName} exited ${stopExitMs} ms after SIGTERM; run ${onStopped.id} ${handedBack ? "handed back" : "NOT handed back"}`,
  );
  launch(`${stoppedName}-replacement`);

  const killedName = (await workerName(onKilled.workerId as number)) as string;
  const killed = workers.get(killedName) as WorkerProcess;
  const killedAt = Date.now();
  killed.kill("SIGKILL");
  await exited(killed);
  launch(`${killedName}-replacement`);
  // The next claim after the lease runs out requeues the run, and may take it in the same request.
  await until(
    async () => {
      const row = await runRow(onKilled.id);
      return row?.status !== "running" || row.workerId !== onKilled.workerId;
    },
    "the lease to expire",
    leaseMs * 4,
  );
  const requeueMs = Date.now() - killedAt;
  say(
    `${killedName} killed with -9; run ${onKilled.id} back in the queue after ${requeueMs} ms (lease ${leaseMs} ms)`,
  );

  await until(
    async () => {
      const rows = await Promise.all(ids.map(runRow));
      return rows.every((r) => r && ["succeeded", "failed", "cancelled"].includes(r.status));
    },
    "every run to end",
    3 * 60 * 60_000,
  );
  const report = await monitor.stop();

  console.log("\n| run | status | attempts | workers | epochs stored | duplicate points |");
  console.log("|---|---|---|---|---|---|");
  for (const id of ids) {
    const run = (
      await pool.query<{ status: string; attempt: number }>(
        `SELECT status, attempt FROM "Run" WHERE id = $1`,
        [id],
      )
    ).rows[0];
    const attempts = (
      await pool.query<{ message: string }>(
        `SELECT message FROM "RunLog" WHERE "runId" = $1 AND message ~ '^attempt \\d+ on ' ORDER BY id`,
        [id],
      )
    ).rows.map((r) => r.message.replace(/^attempt (\d+) on (\S+).*/, "$2"));
    const epochs = (
      await pool.query<{ step: number }>(
        `SELECT step FROM "MetricPoint" WHERE "runId" = $1 AND key = 'val_accuracy' ORDER BY step`,
        [id],
      )
    ).rows.map((r) => r.step);
    const duplicates = (
      await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM (SELECT key, step FROM "MetricPoint" WHERE "runId" = $1 GROUP BY key, step HAVING count(*) > 1) d`,
        [id],
      )
    ).rows[0]?.n;
    console.log(
      `| ${id} | ${run?.status} | ${run?.attempt} | ${attempts.join(" → ")} | ${epochs.join(", ") || "none"} | ${duplicates} |`,
    );
  }
  console.log(
    `\nlargest heartbeat gap: ${report.maxGap?.gapMs ?? "none"} ms (interval ${heartbeatMs} ms) over ${report.gaps.length} heartbeats`,
  );
  const epochSeconds = (
    await pool.query<{ value: number }>(
      `SELECT value FROM "MetricPoint" WHERE key = 'epoch_seconds' ORDER BY value`,
    )
  ).rows.map((r) => r.value);
  console.log(
    `epoch length: ${Math.min(...epochSeconds).toFixed(0)}–${Math.max(...epochSeconds).toFixed(0)} s (training plus validation)`,
  );
  console.log(`cancel → cancelled: ${cancelMs} ms`);
  console.log(`SIGTERM → worker exited: ${stopExitMs} ms (run handed back: ${handedBack ? "yes" : "no"})`);
  console.log(`kill -9 → run requeued: ${requeueMs} ms (lease ${leaseMs} ms)`);
  console.log(`total: ${((Date.now() - started) / 60_000).toFixed(1)} min`);
} catch (error) {
  for (const [name, worker] of workers)
    console.error(`--- ${name}\n${worker.log().split("\n").slice(-15).join("\n")}`);
  throw error;
} finally {
  await Promise.all([...workers.values()].map((worker) => stopWorker(worker, "SIGKILL")));
  await labbook.stop();
  await pool.end();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
