// Holes found by a review of the API (issue "Security"), each tried again against the real
// server: out-of-range ids and cursors, batch size, a metric at step 2^31 - 1, CSV formulas,
// evaluations from a worker that does not hold the run, and a deleted run with an expired lease.
import { afterAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@/server/db/client";
import { MAX_BATCH_SIZE } from "@/shared/api";
import { LabbookClient } from "@/trainer/worker/client";
import { callProcedure } from "../helpers/trpc-http";

const baseUrl = inject("baseUrl");
const db = createDb(inject("databaseUrl"));
const api = new LabbookClient(baseUrl);
afterAll(() => db.$disconnect());
const unique = (name: string) =>
  `${name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;

async function runs(count: number, name = unique("hardening")) {
  const created = await callProcedure<{ id: number; runIds: number[] }>(baseUrl, "experiment.create", {
    name,
    runs: [{ name, config: { epochs: 2 }, seeds: Array.from({ length: count }, (_, i) => i + 1) }],
  });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  return created.body.result?.data as { id: number; runIds: number[] };
}

const get = (procedure: string, input: unknown) =>
  callProcedure(baseUrl, procedure, input, { kind: "query" });
const LEAKS = /prisma|invalid `|\.ts:|SELECT|integer out of range|node_modules/i;

describe("bounded inputs get a 400 that names the field, never a 500", () => {
  it.each([
    ["run.get", { id: 3_000_000_000 }, /id must be at most 2147483647/],
    ["run.logs", { id: 1, after: "99999999999999999999999" }, /after must be a log line id/],
    ["run.evaluation", { id: 1, epoch: 2 ** 40 }, /epoch/],
    ["metric.history", { runIds: [2 ** 31], keys: ["loss"] }, /runIds\[0\] must be at most/],
  ])("%s %j", async (procedure, input, message) => {
    const response = await get(procedure, input);
    expect(response.status).toBe(400);
    expect(response.body.error?.message).toMatch(message);
    expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
  });

  it("refuses run.list cursors whose value has the wrong type for the sort column", async () => {
    const { id } = await runs(1);
    const forged = (v: unknown) => Buffer.from(JSON.stringify({ v, id: 1 })).toString("base64url");
    for (const [field, v] of [
      ["createdAt", "not a date"],
      ["createdAt", 12],
      ["bestValAccuracy", "0.5; DROP TABLE"],
      ["name", 3],
    ] as const) {
      const response = await get("run.list", {
        experimentId: id,
        sort: { field, dir: "desc" },
        cursor: forged(v),
      });
      expect(response.status, `${field} ${v}`).toBe(400);
      expect(response.body.error?.message).toBe("cursor is not one this API returned");
    }
    const outOfRange = Buffer.from(JSON.stringify({ v: null, id: 2 ** 40 })).toString("base64url");
    expect((await get("run.list", { experimentId: id, cursor: outOfRange })).status).toBe(400);
  });

  it(`caps a batched request at ${MAX_BATCH_SIZE} procedures`, async () => {
    const calls = (n: number) => {
      const url = new URL(
        `/api/trpc/${Array.from({ length: n }, () => "experiment.list").join(",")}`,
        baseUrl,
      );
      url.searchParams.set("batch", "1");
      url.searchParams.set(
        "input",
        JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [i, {}]))),
      );
      return fetch(url);
    };
    expect((await calls(MAX_BATCH_SIZE)).status).toBe(200);
    expect((await calls(MAX_BATCH_SIZE + 1)).status).toBe(400);
  });
});

describe("stored data that broke readers", () => {
  it("charts a run with a metric at step 2^31 - 1", async () => {
    const { runIds } = await runs(1);
    const runId = runIds[0] as number;
    const points = [0, 1, 2, 2 ** 31 - 1].map((step) => ({ key: "loss", step, value: step % 7 }));
    await api.logMetrics(runId, points);
    const response = await get("metric.history", { runIds: [runId], keys: ["loss"], maxPoints: 10 });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const series = response.body.result?.data as { points: { step: number }[] }[];
    expect(series[0]?.points.at(-1)?.step).toBe(2 ** 31 - 1);
  });

  it("exports names that look like formulas as text", async () => {
    const name = `=HYPERLINK("http://evil.example","x")-${Date.now()}`;
    const { id } = await runs(1, name);
    const csv = await (await fetch(new URL(`/api/experiments/${id}/runs.csv`, baseUrl))).text();
    expect(csv).toContain(`'=HYPERLINK`);
    expect(csv).not.toMatch(/(^|,)"?=HYPERLINK/m);
  });
});

describe("workers act only on the runs they hold", () => {
  const evaluation = {
    split: "test",
    epoch: 0,
    count: 1,
    loss: 0.1,
    accuracy: 1,
    confusionMatrix: Array.from({ length: 10 }, (_, r) =>
      Array.from({ length: 10 }, (_, c) => (r === c ? 1 : 0)),
    ),
    perClass: Array.from({ length: 10 }, (_, c) => ({
      class: c,
      precision: 1,
      recall: 1,
      f1: 1,
      support: 1,
    })),
    misclassified: [],
  };

  it("refuses worker.evaluation for a run the worker does not hold, storing nothing", async () => {
    const { runIds } = await runs(2);
    const [mine, theirs] = runIds as [number, number];
    const worker = await api.mutation<{ id: number }>("worker.register", {
      name: unique("holder"),
      host: "box",
      backend: "wasm",
    });
    await db.run.update({ where: { id: mine }, data: { status: "running", workerId: worker.id } });
    const refused = await callProcedure(baseUrl, "worker.evaluation", {
      workerId: worker.id,
      runId: theirs,
      evaluation,
    });
    expect(refused.status).toBe(409);
    expect(await db.evaluation.count({ where: { runId: theirs } })).toBe(0);
    expect((await db.run.findUniqueOrThrow({ where: { id: theirs } })).testAccuracy).toBeNull();
    const stored = await callProcedure(baseUrl, "worker.evaluation", {
      workerId: worker.id,
      runId: mine,
      evaluation,
    });
    expect(stored.status).toBe(200);
    expect((await db.run.findUniqueOrThrow({ where: { id: mine } })).testAccuracy).toBe(1);
  });
});
