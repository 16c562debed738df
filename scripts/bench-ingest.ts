// Metric points per second through Labbook's API (real server, HTTP, batches of 1,000, a few
// requests in flight, idempotent upserts and summary updates included) next to a raw COPY of
// the same rows into PostgreSQL, on the same machine in one run.
//
//   npx tsx scripts/bench-ingest.ts [--points 500000] [--batch 1000] [--concurrency 4]
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { startEmbeddedPostgres } from "../src/server/db/embedded-postgres";
import { applyMigrations } from "../src/server/db/migrate";
import { startLabbook } from "./lib/labbook-process";

const { values } = parseArgs({
  options: {
    points: { type: "string", default: "500000" },
    batch: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "4" },
  },
});
const total = Number(values.points);
const batchSize = Number(values.batch);
const concurrency = Number(values.concurrency);

const dir = mkdtempSync(path.join(tmpdir(), "labbook-bench-ingest-"));
chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "pg") });
await applyMigrations(cluster.url);
const labbook = await startLabbook({ DATABASE_URL: cluster.url });
const client = new pg.Client({ connectionString: cluster.url });
await client.connect();

try {
  const experiment = await client.query(
    `INSERT INTO "Experiment"(name, "updatedAt") VALUES ('bench', now()) RETURNING id`,
  );
  // Runs held by a local worker, as claimed runs are: only its worker logs to a run.
  const worker = await client.query(
    `INSERT INTO "Worker"(name, host, backend) VALUES ('bench', 'bench', 'bench') RETURNING id`,
  );
  const makeRun = async () => {
    const result = await client.query(
      `INSERT INTO "Run"("experimentId", name, "groupKey", config, normalization, "learningRate", "batchSize", epochs, seed, dropout, l2, augmentation,
         "lrPlateauPatience", "lrPlateauFactor", "lrPlateauMin", "earlyStoppingPatience", status, "workerId", "updatedAt")
       VALUES ($1, 'bench', 'bench', '{}', 'zscore', 0.0005, 64, 250, 1, '{0.2,0.3,0.4,0.5}', 0.0001, true, 10, 0.5, 0.00001, 40, 'running', $2, now())
       RETURNING id`,
      [experiment.rows[0].id, worker.rows[0].id],
    );
    return result.rows[0].id as number;
  };
  // 100 keys × N steps: what many trainers logging many metrics produce.
  const point = (i: number) => ({ key: `metric_${i % 100}`, step: Math.floor(i / 100), value: Math.sin(i) });

  // Warm up on a run of its own: the first requests load the route and open connections.
  const warmRun = await makeRun();
  for (let b = 0; b < 10; b++) {
    const points = Array.from({ length: batchSize }, (_, i) => point(b * batchSize + i));
    await fetch(new URL("/api/trpc/metric.log", labbook.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ runId: warmRun, points }),
    });
  }
  const apiRun = await makeRun();
  const batches = Math.ceil(total / batchSize);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches) {
        const b = next++;
        const points = Array.from({ length: Math.min(batchSize, total - b * batchSize) }, (_, i) =>
          point(b * batchSize + i),
        );
        const response = await fetch(new URL("/api/trpc/metric.log", labbook.baseUrl), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ runId: apiRun, points }),
        });
        if (!response.ok) throw new Error(`metric.log answered ${response.status}: ${await response.text()}`);
      }
    }),
  );
  const apiSeconds = (performance.now() - started) / 1000;
  const stored = Number(
    (await client.query(`SELECT count(*) FROM "MetricPoint" WHERE "runId" = $1`, [apiRun])).rows[0].count,
  );
  if (stored !== total) throw new Error(`the API stored ${stored} of ${total} points`);

  const copyRun = await makeRun();
  const copyStarted = performance.now();
  const wallTime = new Date().toISOString();
  const rows = Readable.from(
    (function* () {
      for (let i = 0; i < total; i += 10_000) {
        let chunk = "";
        for (let j = i; j < Math.min(i + 10_000, total); j++) {
          const p = point(j);
          chunk += `${copyRun}\t${p.key}\t${p.step}\t${p.value}\t${wallTime}\n`;
        }
        yield chunk;
      }
    })(),
  );
  await pipeline(
    rows,
    client.query(copyFrom(`COPY "MetricPoint"("runId", key, step, value, "wallTime") FROM STDIN`)),
  );
  const copySeconds = (performance.now() - copyStarted) / 1000;

  const apiRate = total / apiSeconds;
  const copyRate = total / copySeconds;
  console.log(`${total} points, ${batchSize} per request, ${concurrency} requests in flight`);
  console.log(
    `API (HTTP + validation + upsert + summary): ${apiRate.toFixed(0)} points/s (${apiSeconds.toFixed(2)} s)`,
  );
  console.log(
    `raw COPY into PostgreSQL:                  ${copyRate.toFixed(0)} points/s (${copySeconds.toFixed(2)} s)`,
  );
  console.log(`COPY / API = ${(copyRate / apiRate).toFixed(2)}×   (goal: ≤ 2×, and API ≥ 50,000 points/s)`);
} finally {
  await client.end();
  await labbook.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
