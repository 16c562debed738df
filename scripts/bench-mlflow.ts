// The MLflow API's speed through the official Python client, next to MLflow 2.17's own server
// (Flask, file store) on the same machine and client, in one run:
//   - log_metric: one call's latency (p50, p95);
//   - log_batch of 1,000 metrics: points per second, against a COPY of the same points;
//   - search_runs with a two-clause filter: Labbook over --runs runs (100,000), MLflow's file
//     store over 51 (it reads every run's files, so 100,000 is out of its reach).
//
//   npx tsx scripts/bench-mlflow.ts --mlflow-ref DIR [--runs 100000] [--calls 500] [--batches 40]
//
// DIR is the OUT_DIR of ../shared/mlflow/setup.sh (env.sh and server.py): the official client
// and MLflow's server. Without it nothing can be measured (the client is Python).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { freePort, startEmbeddedPostgres } from "../src/server/db/embedded-postgres";
import { applyMigrations } from "../src/server/db/migrate";
import { startLabbook } from "./lib/labbook-process";

const { values } = parseArgs({
  options: {
    "mlflow-ref": { type: "string" },
    runs: { type: "string", default: "100000" },
    calls: { type: "string", default: "500" },
    batches: { type: "string", default: "40" },
    searches: { type: "string", default: "50" },
  },
});
const ref = values["mlflow-ref"];
if (!ref || !existsSync(path.join(ref, "env.sh"))) {
  console.error(
    "Pass --mlflow-ref OUT_DIR, where ../shared/mlflow/setup.sh built the official client and server.",
  );
  process.exit(2);
}
const runs = Number(values.runs);
const CLIENT = path.resolve(import.meta.dirname, "mlflow/bench_client.py");
/** Two clauses that pick about 50 of 100,000 runs (and 3 of MLflow's 51). */
const FILTER = "params.lr = '7' AND metrics.val_accuracy > 0.5";
/** Two clauses that match thousands: a full page of 1,000 runs to send and parse. */
const BROAD = "params.optimizer = 'adam' AND metrics.val_accuracy > 0.9";
type Found = { ms: number[]; found: number };

function client<T>(uri: string, ...args: string[]): T {
  const out = execFileSync(path.join(ref as string, "env.sh"), ["python3", CLIENT, ...args], {
    env: { ...process.env, MLFLOW_TRACKING_URI: uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as T;
}

const quantile = (ms: number[], q: number) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

async function startMlflowServer(store: string): Promise<{ uri: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    path.join(ref as string, "env.sh"),
    ["python3", path.join(ref as string, "server.py"), String(port), store],
    {
      stdio: "ignore",
    },
  );
  const uri = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${uri}/health`)).ok) return { uri, child };
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("MLflow's server did not start");
}

/** `count` MLflow runs in one experiment, by SQL: params, latest metrics, as the API stores them. */
async function seedRuns(db: pg.Client, count: number): Promise<number> {
  const { rows } = await db.query(
    `INSERT INTO "Experiment"(name, "updatedAt") VALUES ('search-bench', now()) RETURNING id`,
  );
  const experimentId = rows[0].id as number;
  await db.query(
    `INSERT INTO "Run"("experimentId", name, source, status, "groupKey", "startedAt", "finishedAt", "updatedAt")
     SELECT $1, 'run-' || i, 'mlflow', 'succeeded', 'g' || i, now() - i * interval '1 second', now(), now()
     FROM generate_series(1, $2) i`,
    [experimentId, count],
  );
  await db.query(
    `INSERT INTO "RunParam"("runId", key, value)
     SELECT id, 'optimizer', CASE WHEN id % 2 = 0 THEN 'adam' ELSE 'sgd' END FROM "Run" WHERE "experimentId" = $1
     UNION ALL SELECT id, 'lr', (id % 997)::text FROM "Run" WHERE "experimentId" = $1`,
    [experimentId],
  );
  await db.query(
    `INSERT INTO "LatestMetric"("runId", key, step, value, "wallTime")
     SELECT id, 'val_accuracy', 0, (id % 1000) / 1000.0, now() FROM "Run" WHERE "experimentId" = $1
     UNION ALL SELECT id, 'loss', 0, 1.0 / (1 + id % 100), now() FROM "Run" WHERE "experimentId" = $1`,
    [experimentId],
  );
  await db.query("ANALYZE");
  return experimentId;
}

const dir = mkdtempSync(path.join(tmpdir(), "labbook-bench-mlflow-"));
chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "pg") });
await applyMigrations(cluster.url);
const labbook = await startLabbook({ DATABASE_URL: cluster.url });
const mlflowServer = await startMlflowServer(path.join(dir, "mlflow"));
const db = new pg.Client({ connectionString: cluster.url });
await db.connect();

try {
  const rows: { what: string; labbook: string; mlflow: string; ratio: string; goal: string }[] = [];

  // log_metric: one synchronous call, as autologgers make once per step (or, without a step,
  // the same step 0 each time).
  const calls = values.calls as string;
  for (const mode of ["log_metric", "log_metric_no_step"]) {
    const lm = client<{ ms: number[] }>(labbook.baseUrl, mode, calls).ms;
    const mm = client<{ ms: number[] }>(mlflowServer.uri, mode, calls).ms;
    const [l50, m50] = [quantile(lm, 0.5), quantile(mm, 0.5)];
    rows.push({
      what: `${mode === "log_metric" ? "log_metric" : "log_metric without a step"} p50 (p95), ${calls} calls`,
      labbook: `${l50.toFixed(2)} ms (${quantile(lm, 0.95).toFixed(2)})`,
      mlflow: `${m50.toFixed(2)} ms (${quantile(mm, 0.95).toFixed(2)})`,
      ratio: `${(m50 / l50).toFixed(2)}×`,
      goal: `< 3 ms: ${l50 < 3 ? "met" : "missed"}`,
    });
  }

  // log_batch of 1,000 metrics, and COPY of the same points.
  const batches = values.batches as string;
  const lb = client<{ points: number; seconds: number }>(labbook.baseUrl, "log_batch", batches);
  const mb = client<{ points: number; seconds: number }>(mlflowServer.uri, "log_batch", batches);
  const { rows: copyRows } = await db.query(
    `INSERT INTO "Run"("experimentId", name, source, status, "groupKey", "updatedAt") VALUES (0, 'copy', 'mlflow', 'running', 'copy', now()) RETURNING id`,
  );
  const copyRun = copyRows[0].id as number;
  const wallTime = new Date().toISOString();
  const copyStarted = performance.now();
  await pipeline(
    Readable.from(
      (function* () {
        for (let b = 0; b < lb.points / 1000; b++) {
          let chunk = "";
          for (let i = 0; i < 1000; i++)
            chunk += `${copyRun}\tmetric_${i % 100}\t${b * 10 + Math.floor(i / 100)}\t${i}\t${wallTime}\n`;
          yield chunk;
        }
      })(),
    ),
    db.query(copyFrom(`COPY "MetricPoint"("runId", key, step, value, "wallTime") FROM STDIN`)),
  );
  const copyRate = lb.points / ((performance.now() - copyStarted) / 1000);
  const [lRate, mRate] = [lb.points / lb.seconds, mb.points / mb.seconds];
  rows.push({
    what: `log_batch of 1,000 metrics, ${batches} calls`,
    labbook: `${lRate.toFixed(0)} points/s`,
    mlflow: `${mRate.toFixed(0)} points/s`,
    ratio: `${(lRate / mRate).toFixed(1)}×`,
    goal: `COPY ${copyRate.toFixed(0)} points/s = ${(copyRate / lRate).toFixed(2)}× Labbook: ${copyRate / lRate <= 1.5 ? "met" : "missed"} (≤ 1.5×)`,
  });

  // The server's own capacity for log-batch: plain HTTP from Node, 4 requests in flight (as
  // four training processes would), next to the same COPY.
  const { rows: httpRows } = await db.query(
    `INSERT INTO "Run"("experimentId", name, source, status, "groupKey", "updatedAt") VALUES (0, 'http', 'mlflow', 'running', 'http', now()) RETURNING uuid`,
  );
  const httpRun = httpRows[0].uuid as string;
  const httpBatches = 200;
  let nextBatch = 0;
  const httpStarted = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (nextBatch < httpBatches) {
        const b = nextBatch++;
        const metrics = Array.from({ length: 1000 }, (_, i) => ({
          key: `metric_${i % 100}`,
          value: i,
          timestamp: Date.now(),
          step: b * 10 + Math.floor(i / 100),
        }));
        const response = await fetch(new URL("/api/2.0/mlflow/runs/log-batch", labbook.baseUrl), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ run_id: httpRun, metrics }),
        });
        if (!response.ok) throw new Error(`log-batch answered ${response.status}: ${await response.text()}`);
      }
    }),
  );
  const httpRate = (httpBatches * 1000) / ((performance.now() - httpStarted) / 1000);
  rows.push({
    what: "log-batch of 1,000 over HTTP from Node, 4 in flight (the server's capacity)",
    labbook: `${httpRate.toFixed(0)} points/s`,
    mlflow: "",
    ratio: "",
    goal: `COPY = ${(copyRate / httpRate).toFixed(2)}× Labbook: ${copyRate / httpRate <= 1.5 ? "met" : "missed"} (≤ 1.5×)`,
  });

  // search_runs with a two-clause filter.
  const seedStarted = performance.now();
  const experimentId = await seedRuns(db, runs);
  console.log(`seeded ${runs} runs in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);
  const mlflowExperiment = client<{ experiment_id: string }>(mlflowServer.uri, "seed", "51").experiment_id;
  const searches = values.searches as string;
  for (const filter of [FILTER, BROAD]) {
    const ls = client<Found>(labbook.baseUrl, "search", String(experimentId), searches, filter);
    const ms = client<Found>(mlflowServer.uri, "search", mlflowExperiment, searches, filter);
    rows.push({
      what: `search_runs "${filter}" p50 (p95)`,
      labbook: `${quantile(ls.ms, 0.5).toFixed(1)} ms (${quantile(ls.ms, 0.95).toFixed(1)}), ${runs} runs → ${ls.found}`,
      mlflow: `${quantile(ms.ms, 0.5).toFixed(1)} ms (${quantile(ms.ms, 0.95).toFixed(1)}), 51 runs → ${ms.found}`,
      ratio: `${(quantile(ms.ms, 0.5) / quantile(ls.ms, 0.5)).toFixed(2)}×`,
      goal:
        filter === FILTER
          ? `p95 < 150 ms: ${quantile(ls.ms, 0.95) < 150 ? "met" : "missed"}`
          : "(a full page)",
    });
  }

  console.log(
    "\n| through the official client | Labbook | MLflow 2.17 (file store) | MLflow / Labbook | goal |",
  );
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.what} | ${r.labbook} | ${r.mlflow} | ${r.ratio} | ${r.goal} |`);
} finally {
  await db.end();
  mlflowServer.child.kill();
  await labbook.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
