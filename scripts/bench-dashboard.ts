// Server time of the dashboard's heaviest views on a large history: the experiment page
// (10,000 runs) and compare views of 20 and 100 runs (1,000,000 metric points in the
// database), measured through the real server as the browser calls it (one batched tRPC
// request per view, time read from the Server-Timing header), next to the same queries in
// raw SQL, in one run.
//
//   npx tsx scripts/bench-dashboard.ts [--runs 10000] [--epochs 25] [--requests 200]
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { startEmbeddedPostgres } from "../src/server/db/embedded-postgres";
import { applyMigrations } from "../src/server/db/migrate";
import { EPOCH_METRIC_KEYS as K } from "../src/shared/metrics";
import { startLabbook } from "./lib/labbook-process";
import { seedLarge } from "./lib/seed-large";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    epochs: { type: "string", default: "25" },
    requests: { type: "string", default: "200" },
  },
});
const requests = Number(values.requests);

const dir = mkdtempSync(path.join(tmpdir(), "labbook-bench-dashboard-"));
chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "pg") });
await applyMigrations(cluster.url);
const seeded = await seedLarge(cluster.url, {
  runs: Number(values.runs),
  epochs: Number(values.epochs),
  experimentName: "bench-dashboard",
});
console.log(
  `seeded ${seeded.runs.toLocaleString("en")} runs and ${seeded.points.toLocaleString("en")} metric points in ${seeded.seconds.toFixed(1)} s`,
);
const labbook = await startLabbook({ DATABASE_URL: cluster.url });
// A pool, so the baseline runs a view's queries in parallel as the server does.
const sql = new pg.Pool({ connectionString: cluster.url, max: 4 });

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

async function measure(fn: () => Promise<number>) {
  for (let i = 0; i < 20; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < requests; i++) times.push(await fn());
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p95: quantile(times, 0.95), max: times.at(-1) as number };
}

/** One batched GET of several procedures, as the dashboard's httpBatchLink sends it; returns server ms. */
async function view(calls: [string, unknown][]): Promise<number> {
  const input = Object.fromEntries(calls.map(([, value], i) => [i, value]));
  const url = new URL(`/api/trpc/${calls.map(([name]) => name).join(",")}`, labbook.baseUrl);
  url.searchParams.set("batch", "1");
  url.searchParams.set("input", JSON.stringify(input));
  const response = await fetch(url);
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  const timing = response.headers.get("server-timing")?.match(/dur=([\d.]+)/)?.[1];
  if (!timing) throw new Error("the server sent no Server-Timing header");
  return Number(timing);
}

async function timedSql(queries: [string, unknown[]][]): Promise<number> {
  const started = performance.now();
  await Promise.all(queries.map(([text, params]) => sql.query(text, params)));
  return performance.now() - started;
}

try {
  const experimentId = seeded.experimentId;
  const ids = (
    await sql.query<{ id: number }>(`SELECT id FROM "Run" WHERE "experimentId" = $1 ORDER BY id`, [
      experimentId,
    ])
  ).rows.map((r) => r.id);
  // Runs i and i + 18 share a config (seed replicas): two groups of ten, then 100 runs.
  const compare20 = [
    ...Array.from({ length: 10 }, (_, k) => ids[k * 18]),
    ...Array.from({ length: 10 }, (_, k) => ids[k * 18 + 1]),
  ] as number[];
  const compare100 = ids.slice(0, 100);
  const keys = [K.valAccuracy, K.valLoss, K.accuracy, K.loss, K.lr, K.epochSeconds];
  const firstPage = await (async () => {
    const url = new URL("/api/trpc/run.list", labbook.baseUrl);
    url.searchParams.set(
      "input",
      JSON.stringify({ experimentId, sort: { field: "bestValAccuracy", dir: "desc" }, limit: 50 }),
    );
    return ((await (await fetch(url)).json()) as { result: { data: { nextCursor: string } } }).result.data
      .nextCursor;
  })();

  const scenarios: { name: string; api: () => Promise<number>; sql: () => Promise<number> }[] = [
    {
      name: "experiment page: 50 newest of 10,000 runs + total",
      api: () =>
        view([
          ["experiment.get", { id: experimentId }],
          ["run.list", { experimentId, deleted: false, sort: { field: "id", dir: "desc" }, limit: 50 }],
        ]),
      sql: () =>
        timedSql([
          [`SELECT * FROM "Experiment" WHERE id = $1`, [experimentId]],
          [
            `SELECT * FROM "Run" WHERE "experimentId" = $1 AND "deletedAt" IS NULL ORDER BY id DESC LIMIT 51`,
            [experimentId],
          ],
          [`SELECT count(*) FROM "Run" WHERE "experimentId" = $1 AND "deletedAt" IS NULL`, [experimentId]],
        ]),
    },
    {
      name: "experiment page: zscore only, by best val acc, page 2",
      api: () =>
        view([
          [
            "run.list",
            {
              experimentId,
              normalization: ["zscore"],
              sort: { field: "bestValAccuracy", dir: "desc" },
              limit: 50,
              cursor: firstPage,
            },
          ],
        ]),
      sql: () =>
        timedSql([
          [
            `SELECT * FROM "Run" WHERE "experimentId" = $1 AND "deletedAt" IS NULL AND normalization = 'zscore' ORDER BY "bestValAccuracy" DESC NULLS LAST, id DESC OFFSET 50 LIMIT 51`,
            [experimentId],
          ],
          [
            `SELECT count(*) FROM "Run" WHERE "experimentId" = $1 AND "deletedAt" IS NULL AND normalization = 'zscore'`,
            [experimentId],
          ],
        ]),
    },
    ...[compare20, compare100].map((runIds) => ({
      name: `compare ${runIds.length} runs: summaries, groups + t-test, 6 curves, CI bands`,
      api: () =>
        view([
          ["compare.runs", { runIds }],
          ["metric.history", { runIds, keys, maxPoints: 500 }],
          ["compare.bands", { runIds, keys, maxPoints: 500 }],
        ]),
      sql: () =>
        timedSql([
          [`SELECT * FROM "Run" WHERE id = ANY($1::int[])`, [runIds]],
          [
            `SELECT "runId", key, step, value FROM "MetricPoint" WHERE "runId" = ANY($1::int[]) AND key = ANY($2::text[]) ORDER BY "runId", key, step`,
            [runIds, keys],
          ],
        ]),
    })),
  ];

  console.log(
    `\n${requests} requests per view after 20 warm-up requests (ms; API = Server-Timing of the batched tRPC request)\n`,
  );
  console.log(
    ["view".padEnd(66), "API p50", "API p95", "API max", "SQL p95", "API/SQL p95", "goal p95 < 150"].join(
      "  ",
    ),
  );
  for (const scenario of scenarios) {
    const api = await measure(scenario.api);
    const raw = await measure(scenario.sql);
    console.log(
      [
        scenario.name.padEnd(66),
        api.p50.toFixed(1).padStart(7),
        api.p95.toFixed(1).padStart(7),
        api.max.toFixed(1).padStart(7),
        raw.p95.toFixed(1).padStart(7),
        `${(api.p95 / raw.p95).toFixed(2)}×`.padStart(11),
        (api.p95 < 150 ? "met" : "MISSED").padStart(14),
      ].join("  "),
    );
  }
} finally {
  await sql.end();
  await labbook.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
