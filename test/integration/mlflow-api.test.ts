// MLflow's tracking API on a Labbook of its own (its own database, one real worker): the npm
// `mlflow` client logs a run and reads it back next to a run Labbook's worker trained; then
// each endpoint's contract over plain HTTP: shapes, error codes and statuses, limits, NaN,
// artifacts, access, and that a refused request stores nothing.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import MLflow from "mlflow";
import { RunStatus } from "mlflow/enum";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApiToken } from "@/server/auth/tokens";
import { createUser } from "@/server/auth/users";
import { createDb, type Db } from "@/server/db/client";
import { freePort } from "@/server/db/embedded-postgres";
import { applyMigrations } from "@/server/db/migrate";
import { type LabbookProcess, startLabbook } from "../../scripts/lib/labbook-process";
import { startWorker, stopWorker, until } from "../../scripts/lib/worker-process";
import { launchBrowser, screenshot } from "../helpers/browser";
import { createDatabase, dropDatabase } from "../helpers/database";
import { mlflow, ok, rawRequest } from "../helpers/mlflow-rest";
import { writeSyntheticCifar } from "../helpers/synthetic-cifar";
import { callProcedure } from "../helpers/trpc-http";

const adminUrl = inject("adminUrl");
const dataDir = writeSyntheticCifar(60);
const state = mkdtempSync(path.join(tmpdir(), "labbook-mlflow-"));
const REMOTE = { "x-forwarded-for": "203.0.113.9" };
let url: string;
let db: Db;
let server: LabbookProcess;
let baseUrl: string;
let worker: ChildProcess | undefined;
let trainedRunId: number;
let trainedExperimentId: number;

interface RunJson {
  info: Record<string, unknown> & { run_id: string; status: string; experiment_id: string };
  data: {
    metrics?: { key: string; value: number | string; step: number; timestamp: number }[];
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
  };
}
const asMap = (items: { key: string; value: unknown }[] | undefined) =>
  Object.fromEntries((items ?? []).map((i) => [i.key, i.value]));

beforeAll(async () => {
  url = await createDatabase(adminUrl, "labbook_mlflow");
  await applyMigrations(url);
  db = createDb(url);
  const port = await freePort();
  server = await startLabbook({ DATABASE_URL: url, LABBOOK_PORT: String(port), LABBOOK_TRUST_PROXY: "1" });
  baseUrl = server.baseUrl;
  // One run that Labbook's own worker trains, to be read back through MLflow's API.
  const created = await callProcedure<{ id: number; runIds: number[] }>(baseUrl, "experiment.create", {
    name: "trained-by-labbook",
    runs: [{ config: { epochs: 1, batchSize: 16, validationSplit: 0.1, trainLimit: 48 }, seeds: [7] }],
  });
  trainedExperimentId = created.body.result?.data.id as number;
  trainedRunId = created.body.result?.data.runIds[0] as number;
  worker = startWorker({ url: baseUrl, name: "mlflow-test", dataDir, stateDir: state });
}, 180_000);

afterAll(async () => {
  if (worker) await stopWorker(worker, "SIGKILL");
  await server?.stop();
  await db?.$disconnect();
  if (url) await dropDatabase(adminUrl, url);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

async function newRun(name = `run-${Date.now()}`, experimentId?: string) {
  const body = await ok<{ run: RunJson }>(
    mlflow(baseUrl, "runs/create", {
      experiment_id: experimentId ?? "0",
      run_name: name,
      start_time: Date.now(),
    }),
  );
  return body.run.info.run_id;
}

async function rowCounts(): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT (SELECT count(*) FROM "Run")::int AS runs, (SELECT count(*) FROM "MetricPoint")::int AS points,
              (SELECT count(*) FROM "RunParam")::int AS params, (SELECT count(*) FROM "RunTag")::int AS tags,
              (SELECT count(*) FROM "Experiment")::int AS experiments, (SELECT count(*) FROM "Artifact")::int AS artifacts`,
    );
    return rows[0];
  } finally {
    await client.end();
  }
}

describe("the npm mlflow client", () => {
  it("logs a run that reads back, beside a run Labbook's worker trained, which reads back as an MLflow run", async () => {
    const client = new MLflow({ endpoint: baseUrl });
    const { experiment_id } = await client.Experiments.create({ name: "npm-client", artifact_location: "" });
    const { run } = await client.Runs.create({
      experiment_id,
      user_id: "ada",
      start_time: Date.now(),
      tags: [{ key: "mlflow.runName", value: "from-node" }],
    });
    const runId = run.info.run_id as string;
    await client.Runs.logParameter({ run_id: runId, key: "learning_rate", value: "0.001" });
    for (let step = 0; step < 3; step++)
      await client.Runs.logMetric({
        run_id: runId,
        key: "val_accuracy",
        value: 0.5 + step / 10,
        step,
        timestamp: Date.now(),
      });
    await client.Runs.logBatch({
      run_id: runId,
      metrics: [{ key: "loss", value: 0.7, step: 2, timestamp: Date.now() }],
      params: [{ key: "optimizer", value: "adam" }],
      tags: [{ key: "framework", value: "keras" }],
    });
    await client.Runs.update({ run_id: runId, status: RunStatus.FINISHED, end_time: Date.now() });

    const back = (await client.Runs.get({ run_id: runId })).run as unknown as RunJson;
    expect(back.info).toMatchObject({
      run_id: runId,
      run_name: "from-node",
      status: "FINISHED",
      experiment_id,
    });
    expect(asMap(back.data.params)).toEqual({ learning_rate: "0.001", optimizer: "adam" });
    expect(asMap(back.data.metrics)).toEqual({ val_accuracy: 0.7, loss: 0.7 });
    expect(asMap(back.data.tags)).toMatchObject({ framework: "keras", "mlflow.runName": "from-node" });
    const history = await client.Metrics.getHistory({ run_id: runId, metric_key: "val_accuracy" });
    expect(history.metrics.map((m: { step: number }) => m.step)).toEqual([0, 1, 2]);
    const found = await client.Runs.search({
      experiment_ids: [experiment_id],
      filter: "params.optimizer = 'adam'",
    });
    expect(found.runs.map((r) => r.info.run_id)).toEqual([runId]);

    // The worker trained run: its hyperparameters as params, its history as metrics.
    const trained = await until(
      async () => (await db.run.findUnique({ where: { id: trainedRunId } }))?.status === "succeeded",
      "the worker to train its run",
    );
    expect(trained).toBe(true);
    const searched = await client.Runs.search({
      experiment_ids: [String(trainedExperimentId)],
      filter: "params.normalization = 'zscore' AND attributes.status = 'FINISHED'",
    });
    expect(searched.runs).toHaveLength(1);
    const labbookRun = searched.runs[0] as unknown as RunJson;
    expect(labbookRun.info.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(asMap(labbookRun.data.params)).toMatchObject({
      seed: "7",
      epochs: "1",
      batchSize: "16",
      learningRate: "0.0005",
    });
    expect(Object.keys(asMap(labbookRun.data.metrics))).toEqual(
      expect.arrayContaining(["val_accuracy", "loss"]),
    );
    const trainedHistory = await client.Metrics.getHistory({
      run_id: labbookRun.info.run_id,
      metric_key: "val_accuracy",
    });
    expect(trainedHistory.metrics).toHaveLength(1);
    // Labbook's runs are not the client's to change.
    const refused = await mlflow(baseUrl, "runs/update", {
      run_id: labbookRun.info.run_id,
      status: "KILLED",
    });
    expect(refused).toMatchObject({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE" } });
    // Only its worker records to it; MLflow clients may tag it (found by reading the code).
    for (const [endpoint, body] of [
      ["runs/log-metric", { key: "val_accuracy", value: 1, timestamp: 0, step: 99 }],
      ["runs/log-parameter", { key: "injected", value: "x" }],
      ["runs/log-batch", { metrics: [{ key: "loss", value: 0, timestamp: 0, step: 1 }] }],
    ] as const) {
      const answer = await mlflow(baseUrl, endpoint, { run_id: labbookRun.info.run_id, ...body });
      expect(answer, endpoint).toMatchObject({ status: 403, body: { error_code: "PERMISSION_DENIED" } });
    }
    expect(
      (await mlflow(baseUrl, "runs/set-tag", { run_id: labbookRun.info.run_id, key: "note", value: "ok" }))
        .status,
    ).toBe(200);
    const upload = await fetch(
      new URL(
        `/api/2.0/mlflow-artifacts/artifacts/${labbookRun.info.experiment_id}/${labbookRun.info.run_id}/artifacts/evil.bin`,
        baseUrl,
      ),
      { method: "PUT", body: "x" },
    );
    expect(upload.status).toBe(403);
    expect(
      (await client.Metrics.getHistory({ run_id: labbookRun.info.run_id, metric_key: "val_accuracy" }))
        .metrics,
    ).toHaveLength(1);
  }, 240_000);

  it("leaves a SCHEDULED MLflow run alone: workers claim only Labbook's queue", async () => {
    const runId = await newRun("scheduled-by-a-script");
    await ok(mlflow(baseUrl, "runs/update", { run_id: runId, status: "SCHEDULED" }));
    // The worker polls every 300 ms: a few polls pass without it taking the run.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const run = await ok<{ run: RunJson }>(
      mlflow(baseUrl, "runs/get", undefined, { query: { run_id: runId } }),
    );
    expect(run.run.info.status).toBe("SCHEDULED");
    expect(await db.run.findFirst({ where: { uuid: runId }, select: { workerId: true } })).toEqual({
      workerId: null,
    });
  });
});

describe("experiments", () => {
  it("has MLflow's default experiment 0, and creates, finds, renames, tags, deletes and restores", async () => {
    const zero = await ok<{ experiment: Record<string, unknown> }>(
      mlflow(baseUrl, "experiments/get", undefined, { query: { experiment_id: "0" } }),
    );
    expect(zero.experiment).toMatchObject({ experiment_id: "0", name: "Default", lifecycle_stage: "active" });
    const name = `exp-${Date.now()}`;
    const { experiment_id } = await ok<{ experiment_id: string }>(
      mlflow(baseUrl, "experiments/create", { name, tags: [{ key: "owner", value: "ada" }] }),
    );
    const again = await mlflow(baseUrl, "experiments/create", { name });
    expect(again).toMatchObject({ status: 400, body: { error_code: "RESOURCE_ALREADY_EXISTS" } });
    const byName = await ok<{ experiment: Record<string, unknown> }>(
      mlflow(baseUrl, "experiments/get-by-name", undefined, { query: { experiment_name: name } }),
    );
    expect(byName.experiment).toMatchObject({
      experiment_id,
      name,
      artifact_location: `mlflow-artifacts:/${experiment_id}`,
      tags: [{ key: "owner", value: "ada" }],
    });
    expect(typeof byName.experiment.creation_time).toBe("number");
    await ok(mlflow(baseUrl, "experiments/update", { experiment_id, new_name: `${name}-renamed` }));
    await ok(
      mlflow(baseUrl, "experiments/set-experiment-tag", { experiment_id, key: "stage", value: "dev" }),
    );
    await ok(mlflow(baseUrl, "experiments/delete", { experiment_id }));
    const searched = await ok<{ experiments: { name: string }[] }>(
      mlflow(baseUrl, "experiments/search", { filter: `name LIKE '${name}%'`, view_type: "DELETED_ONLY" }),
    );
    expect(searched.experiments.map((e) => e.name)).toEqual([`${name}-renamed`]);
    const create = await mlflow(baseUrl, "runs/create", { experiment_id });
    expect(create).toMatchObject({ status: 400, body: { error_code: "INVALID_STATE" } });
    await ok(mlflow(baseUrl, "experiments/restore", { experiment_id }));
    const missing = await mlflow(baseUrl, "experiments/get-by-name", undefined, {
      query: { experiment_name: "nope-x" },
    });
    expect(missing).toMatchObject({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST" } });
    const zeroDelete = await mlflow(baseUrl, "experiments/delete", { experiment_id: "0" });
    expect(zeroDelete.status).toBe(400);
  });
});

describe("runs", () => {
  it("answers runs/get in MLflow's shape: a 32-hex id, ms times, latest values, NaN and ±Infinity as text", async () => {
    const runId = await newRun("shape");
    await ok(
      mlflow(baseUrl, "runs/log-metric", {
        run_id: runId,
        key: "acc",
        value: 0.5,
        timestamp: 1_700_000_000_000,
      }),
    );
    await ok(
      mlflow(baseUrl, "runs/log-metric", {
        run_id: runId,
        key: "acc",
        value: 0.9,
        step: 3,
        timestamp: 1_700_000_000_500,
      }),
    );
    await ok(
      mlflow(baseUrl, "runs/log-metric", {
        run_id: runId,
        key: "acc",
        value: 0.1,
        step: 1,
        timestamp: 1_700_000_001_000,
      }),
    );
    await ok(mlflow(baseUrl, "runs/log-metric", { run_id: runId, key: "nan", value: "NaN", timestamp: 1 }));
    await ok(
      mlflow(baseUrl, "runs/log-metric", { run_id: runId, key: "inf", value: "Infinity", timestamp: 1 }),
    );
    await ok(
      mlflow(baseUrl, "runs/log-metric", { run_id: runId, key: "ninf", value: "-Infinity", timestamp: 1 }),
    );
    const { run } = await ok<{ run: RunJson }>(
      mlflow(baseUrl, "runs/get", undefined, { query: { run_id: runId } }),
    );
    expect(run.info.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(run.info).toMatchObject({
      run_uuid: runId,
      status: "RUNNING",
      lifecycle_stage: "active",
      experiment_id: "0",
    });
    expect(run.info.artifact_uri).toBe(`mlflow-artifacts:/0/${runId}/artifacts`);
    const metrics = Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m]));
    // The latest value is the highest step's, whatever order the points came in.
    expect(metrics.acc).toEqual({ key: "acc", value: 0.9, step: 3, timestamp: 1_700_000_000_500 });
    expect([metrics.nan?.value, metrics.inf?.value, metrics.ninf?.value]).toEqual([
      "NaN",
      "Infinity",
      "-Infinity",
    ]);
    expect(metrics.nan?.step).toBe(0); // the step defaults to 0
    const old = await ok<{ run: RunJson }>(
      mlflow(baseUrl, "runs/get", undefined, { query: { run_uuid: runId } }),
    );
    expect(old.run.info.run_id).toBe(runId);
  });

  it("keeps params unchangeable: the same value again is fine, another is INVALID_PARAMETER_VALUE", async () => {
    const runId = await newRun("params");
    await ok(mlflow(baseUrl, "runs/log-parameter", { run_id: runId, key: "lr", value: "0.1" }));
    await ok(mlflow(baseUrl, "runs/log-parameter", { run_id: runId, key: "lr", value: "0.1" }));
    const changed = await mlflow(baseUrl, "runs/log-parameter", { run_id: runId, key: "lr", value: "0.2" });
    expect(changed).toMatchObject({ status: 400, body: { error_code: "INVALID_PARAMETER_VALUE" } });
    expect(changed.body.message).toContain("Changing param values is not allowed");
    const before = await rowCounts();
    const batch = await mlflow(baseUrl, "runs/log-batch", {
      run_id: runId,
      params: [
        { key: "new", value: "x" },
        { key: "lr", value: "0.3" },
      ],
      metrics: [{ key: "m", value: 1, timestamp: 1, step: 0 }],
      tags: [{ key: "t", value: "v" }],
    });
    expect(batch.status).toBe(400);
    expect(await rowCounts()).toEqual(before); // all or nothing
  });

  it("holds log-batch to MLflow's limits and key rules, storing nothing on refusal", async () => {
    const runId = await newRun("limits");
    const metric = (i: number) => ({ key: `m${i % 7}`, value: i, timestamp: Date.now(), step: i });
    await ok(
      mlflow(baseUrl, "runs/log-batch", {
        run_id: runId,
        metrics: Array.from({ length: 1000 }, (_, i) => metric(i)),
      }),
    );
    const before = await rowCounts();
    const refusals = [
      { metrics: Array.from({ length: 1001 }, (_, i) => metric(i)) },
      { params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: "1" })) },
      { tags: Array.from({ length: 101 }, (_, i) => ({ key: `t${i}`, value: "1" })) },
      { params: [{ key: "x".repeat(251), value: "1" }] },
      { params: [{ key: "ok", value: "v".repeat(6001) }] },
      { tags: [{ key: "ok", value: "v".repeat(8001) }] },
      { metrics: [{ key: "../escape", value: 1, timestamp: 1 }] },
      { metrics: [{ key: "bad*key", value: 1, timestamp: 1 }] },
      { metrics: [{ key: "ok", value: "ten", timestamp: 1 }] },
      { metrics: [{ key: "ok", value: 1, timestamp: 1, step: 2 ** 31 }] },
      { metrics: [{ key: "ok", value: 1, timestamp: -5 }] },
      {
        params: [
          { key: "a", value: "1" },
          { key: "a", value: "2" },
        ],
      },
      { tags: [{ key: "nul", value: "a\u0000b" }] },
    ];
    for (const body of refusals) {
      const answer = await mlflow(baseUrl, "runs/log-batch", { run_id: runId, ...body });
      expect(answer.status, JSON.stringify(body).slice(0, 120)).toBe(400);
      expect(answer.body.error_code).toBe("INVALID_PARAMETER_VALUE");
    }
    expect(await rowCounts()).toEqual(before);
  });

  it("pages metric history", async () => {
    const runId = await newRun("history");
    await ok(
      mlflow(baseUrl, "runs/log-batch", {
        run_id: runId,
        metrics: Array.from({ length: 25 }, (_, step) => ({
          key: "loss",
          value: 1 / (step + 1),
          timestamp: 1,
          step,
        })),
      }),
    );
    const steps: number[] = [];
    let token: string | undefined;
    do {
      const page = await ok<{ metrics: { step: number }[]; next_page_token?: string }>(
        mlflow(baseUrl, "metrics/get-history", undefined, {
          query: {
            run_id: runId,
            metric_key: "loss",
            max_results: "10",
            ...(token ? { page_token: token } : {}),
          },
        }),
      );
      steps.push(...page.metrics.map((m) => m.step));
      token = page.next_page_token;
    } while (token);
    expect(steps).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it("fails at once for an unknown run, and deletes and restores a run (also a running one)", async () => {
    for (const id of ["0".repeat(32), "not-an-id", "x".repeat(64)]) {
      const answer = await mlflow(baseUrl, "runs/get", undefined, { query: { run_id: id } });
      expect(answer).toMatchObject({ status: 404, body: { error_code: "RESOURCE_DOES_NOT_EXIST" } });
      const log = await mlflow(baseUrl, "runs/log-metric", { run_id: id, key: "a", value: 1, timestamp: 1 });
      expect(log.status).toBe(404);
    }
    const runId = await newRun("deleted");
    await ok(mlflow(baseUrl, "runs/delete", { run_id: runId }));
    const deleted = await ok<{ run: RunJson }>(
      mlflow(baseUrl, "runs/get", undefined, { query: { run_id: runId } }),
    );
    expect(deleted.run.info.lifecycle_stage).toBe("deleted");
    const logToDeleted = await mlflow(baseUrl, "runs/log-metric", {
      run_id: runId,
      key: "a",
      value: 1,
      timestamp: 1,
    });
    expect(logToDeleted).toMatchObject({ status: 400, body: { error_code: "INVALID_STATE" } });
    const listed = await ok<{ runs?: RunJson[] }>(
      mlflow(baseUrl, "runs/search", { experiment_ids: ["0"], run_view_type: "DELETED_ONLY" }),
    );
    expect(listed.runs?.map((r) => r.info.run_id)).toContain(runId);
    await ok(mlflow(baseUrl, "runs/restore", { run_id: runId }));
    await ok(mlflow(baseUrl, "runs/log-metric", { run_id: runId, key: "a", value: 1, timestamp: 1 }));
  });

  it("answers MLflow's errors for unknown endpoints, wrong methods, bad JSON and large bodies", async () => {
    expect(await mlflow(baseUrl, "runs/nope", {})).toMatchObject({
      status: 404,
      body: { error_code: "ENDPOINT_NOT_FOUND" },
    });
    expect((await mlflow(baseUrl, "runs/create", undefined, { method: "GET" })).status).toBe(405);
    expect(await mlflow(baseUrl, "runs/create", "{not json")).toMatchObject({
      status: 400,
      body: { error_code: "BAD_REQUEST" },
    });
    expect(await mlflow(baseUrl, "runs/create", "[1,2]")).toMatchObject({ status: 400 });
    const huge = JSON.stringify({ run_id: "a", metrics: [], pad: "x".repeat(5 * 1024 * 1024) });
    expect((await mlflow(baseUrl, "runs/log-batch", huge)).status).toBe(413);
    const ajax = await fetch(new URL("/ajax-api/2.0/mlflow/experiments/get?experiment_id=0", baseUrl));
    expect(ajax.status).toBe(200);
  });
});

describe("artifacts through MLflow's proxy", () => {
  it("uploads, lists, downloads and deletes nested files, and keeps every path inside its run", async () => {
    const runId = await newRun("artifacts");
    const root = `/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts`;
    const put = (file: string, body: string) =>
      fetch(new URL(`${root}/${file}`, baseUrl), {
        method: "PUT",
        body,
        headers: { "content-type": "text/plain" },
      });
    expect((await put("model/data/weights.txt", "w")).status).toBe(200);
    expect((await put("model/MLmodel", "flavors: {}")).status).toBe(200);
    expect((await put("notes.md", "# hi")).status).toBe(200);
    const list = async (where: string) =>
      (await (
        await fetch(new URL(`/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(where)}`, baseUrl))
      ).json()) as {
        files?: { path: string; is_dir: boolean; file_size?: number }[];
      };
    expect((await list(`0/${runId}/artifacts`)).files).toEqual([
      { path: "model", is_dir: true },
      { path: "notes.md", is_dir: false, file_size: 4 },
    ]);
    expect((await list(`0/${runId}/artifacts/model`)).files).toEqual([
      { path: "MLmodel", is_dir: false, file_size: 11 },
      { path: "data", is_dir: true },
    ]);
    const download = await fetch(new URL(`${root}/model/data/weights.txt`, baseUrl));
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("w");
    // Sent as written: fetch would resolve the dots before sending.
    for (const bad of [
      "../x",
      "a/../../b",
      "a//b",
      "./a",
      "%2e%2e/x",
      "a/%2E%2E/%2e%2e/b",
      "a%5cb",
      "a%00b",
      "..",
    ]) {
      const status = await rawRequest(baseUrl, "PUT", `${root}/${bad}`, "x");
      expect(status, bad).toBeGreaterThanOrEqual(400);
      expect(status, bad).toBeLessThan(500);
    }
    expect(
      await rawRequest(baseUrl, "GET", `${root}/../../../${runId}/artifacts/notes.md`),
    ).toBeGreaterThanOrEqual(400);
    const otherRun = await newRun("other");
    const crossed = await fetch(
      new URL(`/api/2.0/mlflow-artifacts/artifacts/1/${otherRun}/artifacts/x`, baseUrl),
      {
        method: "PUT",
        body: "x",
      },
    );
    expect(crossed.status).toBe(404); // the run is in experiment 0, not 1
    const deleted = await fetch(new URL(`${root}/model`, baseUrl), { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect((await list(`0/${runId}/artifacts`)).files).toEqual([
      { path: "notes.md", is_dir: false, file_size: 4 },
    ]);
    const missing = await fetch(new URL(`${root}/model/MLmodel`, baseUrl));
    expect(missing.status).toBe(404);
  });

  it("shows evaluation.json in the documented form as the run's evaluation", async () => {
    const runId = await newRun("evaluated");
    const classes = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
    const matrix = classes.map((_, i) => classes.map((__, j) => (i === j ? 8 : i === 3 && j === 5 ? 2 : 0)));
    const body = JSON.stringify({ classes, confusion_matrix: matrix, loss: 0.5 });
    const put = await fetch(
      new URL(`/api/2.0/mlflow-artifacts/artifacts/0/${runId}/artifacts/evaluation.json`, baseUrl),
      {
        method: "PUT",
        body,
      },
    );
    expect(put.status).toBe(200);
    const run = await db.run.findFirstOrThrow({ where: { uuid: runId }, include: { evaluations: true } });
    expect(run.testAccuracy).toBeCloseTo(80 / 82, 6);
    expect(run.evaluations[0]?.confusionMatrix).toEqual(matrix);
  });
});

describe("access", () => {
  it("lets this machine write without a token; another machine reads, and writes with a token or a user", async () => {
    const runId = await newRun("access");
    const remoteWrite = await mlflow(
      baseUrl,
      "runs/set-tag",
      { run_id: runId, key: "a", value: "b" },
      { headers: REMOTE },
    );
    expect(remoteWrite).toMatchObject({ status: 401, body: { error_code: "UNAUTHENTICATED" } });
    const remoteRead = await mlflow(baseUrl, "runs/get", undefined, {
      query: { run_id: runId },
      headers: REMOTE,
    });
    expect(remoteRead.status).toBe(200);
    const { token } = await createApiToken(db, { name: `mlflow-${Date.now()}`, scope: "write" });
    const withToken = await mlflow(
      baseUrl,
      "runs/set-tag",
      { run_id: runId, key: "a", value: "b" },
      { headers: { ...REMOTE, authorization: `Bearer ${token}` } },
    );
    expect(withToken.status).toBe(200);
    const name = `ml-${Date.now()}`;
    await createUser(db, { name, password: "correct horse battery", role: "editor" });
    const basic = (password: string) => `Basic ${Buffer.from(`${name}:${password}`).toString("base64")}`;
    const asUser = await mlflow(
      baseUrl,
      "runs/set-tag",
      { run_id: runId, key: "c", value: "d" },
      { headers: { ...REMOTE, authorization: basic("correct horse battery") } },
    );
    expect(asUser.status).toBe(200);
    const wrong = await mlflow(
      baseUrl,
      "runs/set-tag",
      { run_id: runId, key: "c", value: "d" },
      { headers: { ...REMOTE, authorization: basic("wrong") } },
    );
    expect(wrong).toMatchObject({ status: 401, body: { error_code: "UNAUTHENTICATED" } });
    const crossSite = await mlflow(
      baseUrl,
      "runs/set-tag",
      { run_id: runId, key: "e", value: "f" },
      { headers: { origin: "http://evil.example" } },
    );
    expect(crossSite.status).toBe(403);
  });
});

describe("in the dashboard", () => {
  it("shows an MLflow run on its page, in compare beside a trained run, and in the CSV export", async () => {
    const { experiment_id } = await ok<{ experiment_id: string }>(
      mlflow(baseUrl, "experiments/create", { name: `keras-notebook-${Date.now()}` }),
    );
    const runId = await newRun("keras-zscore", experiment_id);
    await ok(
      mlflow(baseUrl, "runs/log-batch", {
        run_id: runId,
        params: [
          { key: "learning_rate", value: "0.0005" },
          { key: "normalization", value: "zscore" },
        ],
        tags: [{ key: "framework", value: "keras 2.15" }],
        metrics: [1, 2, 3, 4].flatMap((step) => [
          { key: "val_accuracy", value: 0.4 + step / 10, step, timestamp: Date.now() },
          { key: "loss", value: 2 / step, step, timestamp: Date.now() },
          { key: "val_loss", value: 2.2 / step, step, timestamp: Date.now() },
          { key: "f1 macro", value: 0.3 + step / 20, step, timestamp: Date.now() },
        ]),
      }),
    );
    const root = `/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${runId}/artifacts`;
    for (const [file, body] of [
      ["model/MLmodel", "flavors:\n  keras: {}\n"],
      ["model/data/model.keras", "weights"],
      [
        "evaluation.json",
        JSON.stringify({
          classes: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
          confusion_matrix: Array.from({ length: 10 }, (_, i) =>
            Array.from({ length: 10 }, (_, j) => (i === j ? 90 : i === 3 && j === 5 ? 10 : 0)),
          ),
        }),
      ],
    ] as const)
      expect((await fetch(new URL(`${root}/${file}`, baseUrl), { method: "PUT", body })).status).toBe(200);
    await ok(mlflow(baseUrl, "runs/update", { run_id: runId, status: "FINISHED", end_time: Date.now() }));
    const run = await db.run.findFirstOrThrow({ where: { uuid: runId } });

    const browser = await launchBrowser();
    const errors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
      page.on("response", (response) => {
        if (response.status() >= 400) errors.push(`HTTP ${response.status()} ${response.url()}`);
      });
      await page.goto(new URL(`/runs/${run.id}`, baseUrl).toString());
      await page.getByTestId("run-source").waitFor();
      expect(await page.getByTestId("run-status").textContent()).toMatch(/succeeded/i);
      expect(await page.getByTestId("params").textContent()).toContain("learning_rate");
      expect(await page.getByTestId("tags").textContent()).toContain("keras 2.15");
      await page.getByTestId("chart-accuracy").waitFor();
      await page.getByTestId("chart-f1 macro").waitFor();
      await expect.poll(() => page.locator('[data-testid="chart-accuracy"] path').count()).toBeGreaterThan(0);
      expect(await page.getByTestId("artifacts").textContent()).toContain("MLmodel");
      await page.getByTestId("evaluation").waitFor();
      expect(await page.getByTestId("evaluation").textContent()).toMatch(/accuracy 9\d\.\d+%/);
      await screenshot(page, "mlflow-run");
      // The link MLflow's client prints ("View run at …/#/experiments/<id>/runs/<run id>") opens the page.
      await page.goto(new URL(`/#/experiments/${experiment_id}/runs/${runId}`, baseUrl).toString());
      await page.waitForURL(new RegExp(`/runs/${run.id}$`));
      await page.getByTestId("run-source").waitFor();

      await page.goto(new URL(`/compare?runs=${run.id},${trainedRunId}`, baseUrl).toString());
      await page.getByTestId("compare-charts").waitFor();
      const compared = await page.locator("main").textContent();
      expect(compared).toContain("keras-zscore");
      expect(compared).toContain("learning_rate");
      await expect
        .poll(() => page.locator('[data-testid="compare-chart-val_accuracy"] path').count())
        .toBeGreaterThan(1);
      await screenshot(page, "mlflow-compare");
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }

    const csv = await (await fetch(new URL(`/api/experiments/${experiment_id}/runs.csv`, baseUrl))).text();
    const [header, row] = csv.trim().split("\n");
    expect(header).toContain("param.learning_rate");
    expect(header).toContain("source");
    expect(row).toContain("keras-zscore");
    expect(row).toContain(runId);
  }, 120_000);
});
