// The tRPC API over real HTTP against the real server and PostgreSQL.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApiToken } from "@/server/auth/tokens";
import { createDb } from "@/server/db/client";
import { DEFAULT_HYPERPARAMS } from "@/shared/hyperparams";
import { withClient } from "../helpers/database";
import { callProcedure } from "../helpers/trpc-http";

const baseUrl = inject("baseUrl");
const db = createDb(inject("databaseUrl"));
const REMOTE = { "x-forwarded-for": "203.0.113.7" }; // the test server trusts X-Forwarded-For
afterAll(() => db.$disconnect());

let uniq = 0;
const unique = (name: string) => `${name}-${process.pid}-${Date.now()}-${uniq++}`;

async function createExperiment(input: Record<string, unknown>) {
  const response = await callProcedure<{ id: number; runIds: number[] }>(baseUrl, "experiment.create", input);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.result?.data as { id: number; runIds: number[] };
}

/**
 * Rows a refused call could have stored: experiments named `name` and runs of experiment
 * `experimentId` (scoped, since other test files write to the same database at once).
 */
function countRows(scope: {
  name?: string;
  experimentId?: number;
}): Promise<{ experiments: number; runs: number }> {
  return withClient(inject("databaseUrl"), async (client) => {
    const result = await client.query(
      `SELECT (SELECT count(*) FROM "Experiment" WHERE name = $1)::int AS experiments,
              (SELECT count(*) FROM "Run" WHERE "experimentId" = $2)::int AS runs`,
      // -1: no experiment (0 is MLflow's default, where other tests log runs).
      [scope.name ?? "", scope.experimentId ?? -1],
    );
    return result.rows[0];
  });
}

describe("experiments API", () => {
  it("creates an experiment with queued runs whose config defaults to the seed recipe", async () => {
    const name = unique("seed-recipe");
    const created = await createExperiment({ name, description: "defaults", runs: [{ seeds: [1, 2, 3] }] });
    expect(created.runIds).toHaveLength(3);
    const runs = await db.run.findMany({ where: { experimentId: created.id }, orderBy: { seed: "asc" } });
    expect(runs.map((run) => [run.status, run.seed])).toEqual([
      ["queued", 1],
      ["queued", 2],
      ["queued", 3],
    ]);
    expect(runs[0]?.config).toEqual({ ...DEFAULT_HYPERPARAMS, seed: 1 });
    expect(runs[0]).toMatchObject({
      learningRate: 5e-4,
      batchSize: 64,
      epochs: 250,
      dropout: [0.2, 0.3, 0.4, 0.5],
    });
    expect(new Set(runs.map((run) => run.groupKey)).size).toBe(1); // replicas differ only in seed

    const list = await callProcedure<{
      items: { id: number; totalRuns: number; runCounts: Record<string, number> }[];
    }>(baseUrl, "experiment.list", { search: name }, { kind: "query" });
    expect(list.body.result?.data.items).toMatchObject([
      { id: created.id, totalRuns: 3, runCounts: { queued: 3 } },
    ]);
  });

  it("builds a run from a preset, with the fields given overriding it", async () => {
    const created = await createExperiment({
      name: unique("fast"),
      runs: [{ config: { preset: "fast", epochs: 3, augmentation: { horizontalFlip: false } } }],
    });
    const run = await db.run.findUniqueOrThrow({ where: { id: created.runIds[0] } });
    expect(run.config).toMatchObject({
      preset: "fast",
      optimizer: "sgd-nesterov",
      lrSchedule: "one-cycle",
      labelSmoothing: 0.1,
      epochs: 3,
      augmentation: { horizontalFlip: false, widthShift: 0.125, rotationDegrees: 0 },
    });
    expect(run).toMatchObject({ batchSize: 128, epochs: 3, learningRate: 0.2 });
    const refused = await callProcedure(baseUrl, "experiment.create", {
      name: unique("turbo"),
      runs: [{ config: { preset: "turbo" } }],
    });
    expect(refused.status).toBe(400);
  });

  it("answers a taken name with 409 and renames and archives", async () => {
    const name = unique("taken");
    const created = await createExperiment({ name });
    const again = await callProcedure(baseUrl, "experiment.create", { name });
    expect(again.status).toBe(409);
    expect(again.body.error?.message).toMatch(/name is already taken/);

    const renamed = await callProcedure(baseUrl, "experiment.rename", {
      id: created.id,
      name: `${name}-renamed`,
    });
    expect(renamed.status).toBe(200);
    const archived = await callProcedure(baseUrl, "experiment.archive", { id: created.id });
    expect(archived.status).toBe(200);
    const queueOnArchived = await callProcedure(baseUrl, "run.create", { experimentId: created.id });
    expect(queueOnArchived.status).toBe(400);
    expect(queueOnArchived.body.error?.message).toMatch(/is archived/);
    const visible = await callProcedure<{ items: unknown[] }>(
      baseUrl,
      "experiment.list",
      { search: name },
      { kind: "query" },
    );
    expect(visible.body.result?.data.items).toHaveLength(0);
  });

  it("answers an unknown experiment with 404", async () => {
    const response = await callProcedure(baseUrl, "experiment.get", { id: 987654321 }, { kind: "query" });
    expect(response.status).toBe(404);
  });
});

describe("invalid input", () => {
  let experimentId: number;
  beforeAll(async () => {
    experimentId = (await createExperiment({ name: unique("invalid-input") })).id;
  });

  it.each([
    [{ learningRate: -1 }, ["config.learningRate must be > 0"]],
    [
      { dropout: [0.2, 1.5] },
      ["config.dropout[1] must be < 1", "config.dropout must list 4 rates, one per conv block"],
    ],
    [{ normalization: "minmax" }, ["config.normalization must be one of sfs, zscore, zscore-per-channel"]],
  ])("run.create with %j is a 400 naming the field, and stores nothing", async (config, messages) => {
    const before = await countRows({ experimentId });
    const response = await callProcedure(baseUrl, "run.create", { experimentId, config });
    expect(response.status).toBe(400);
    for (const message of messages) expect(response.body.error?.message).toContain(message);
    expect(response.body.error?.data.issues?.[0]?.path[0]).toBe("config");
    expect(await countRows({ experimentId })).toEqual(before);
  });

  it("refuses a whole experiment when one run spec is invalid", async () => {
    const name = unique("half-valid");
    const response = await callProcedure(baseUrl, "experiment.create", {
      name,
      runs: [{ config: {} }, { config: { batchSize: 0 } }],
    });
    expect(response.status).toBe(400);
    expect(response.body.error?.message).toBe("runs[1].config.batchSize must be ≥ 1");
    expect(await countRows({ name })).toEqual({ experiments: 0, runs: 0 });
  });

  it("answers malformed JSON with 400, not 500", async () => {
    const response = await fetch(new URL("/api/trpc/experiment.create", baseUrl), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
  });
});

describe("API tokens", () => {
  it("refuses writes from a non-loopback client without a token, and stores nothing", async () => {
    const name = unique("remote");
    const response = await callProcedure(baseUrl, "experiment.create", { name }, { headers: REMOTE });
    expect(response.status).toBe(401);
    expect(response.body.error?.message).toMatch(
      /needs a sign-in: sign in as an editor, or send "Authorization: Bearer <token>" with scope write/,
    );
    expect(await countRows({ name })).toEqual({ experiments: 0, runs: 0 });
  });

  it("lets only the token that registered a worker act for it", async () => {
    const owner = await createApiToken(db, { name: unique("gpu-box"), scope: "write" });
    const other = await createApiToken(db, { name: unique("laptop"), scope: "write" });
    const as = (token: string) => ({ headers: { ...REMOTE, authorization: `Bearer ${token}` } });
    const name = unique("gpu-worker");
    const registered = await callProcedure<{ id: number }>(
      baseUrl,
      "worker.register",
      { name, host: "gpu-box", backend: "tensorflow-gpu" },
      as(owner.token),
    );
    expect(registered.status).toBe(200);
    const workerId = registered.body.result?.data.id;

    const hijack = await callProcedure(baseUrl, "worker.claim", { workerId }, as(other.token));
    expect([hijack.status, hijack.body.error?.message]).toEqual([
      403,
      `worker ${workerId} was registered with another token; only that token may act for it`,
    ]);
    const rename = await callProcedure(
      baseUrl,
      "worker.register",
      { name, host: "x", backend: "wasm" },
      as(other.token),
    );
    expect([rename.status, rename.body.error?.message]).toEqual([
      403,
      `the worker name "${name}" belongs to another token; pick another name`,
    ]);
    const local = await callProcedure(baseUrl, "worker.heartbeat", { workerId, runId: 1 });
    expect(local.status).toBe(403);
    // The owner gets past the check (and learns it holds no such run; claiming could take
    // another test's queued run).
    const own = await callProcedure(
      baseUrl,
      "worker.heartbeat",
      { workerId, runId: 99_999_999 },
      as(owner.token),
    );
    expect([own.status, own.body.error?.message]).toEqual([
      409,
      `worker ${workerId} no longer holds run 99999999`,
    ]);
    // Once the owner's token is revoked, the name is free for another token to take.
    await db.apiToken.update({ where: { id: owner.record.id }, data: { revokedAt: new Date() } });
    const takeover = await callProcedure<{ id: number }>(
      baseUrl,
      "worker.register",
      { name, host: "new-box", backend: "wasm" },
      as(other.token),
    );
    expect(takeover.status).toBe(200);
    const back = await callProcedure(baseUrl, "worker.claim", { workerId }, as(owner.token));
    expect(back.status).toBe(401);
  });

  it("lets remote clients read without a token", async () => {
    const response = await callProcedure(baseUrl, "experiment.list", {}, { kind: "query", headers: REMOTE });
    expect(response.status).toBe(200);
  });

  it("accepts a write token from a remote client and records its use", async () => {
    const { token, record } = await createApiToken(db, { name: unique("ci"), scope: "write" });
    const response = await callProcedure(
      baseUrl,
      "experiment.create",
      { name: unique("remote-ok") },
      { headers: { ...REMOTE, authorization: `Bearer ${token}` } },
    );
    expect(response.status).toBe(200);
    const stored = await db.apiToken.findUniqueOrThrow({ where: { id: record.id } });
    expect(stored.lastUsedAt).not.toBeNull();
    expect(stored.tokenHash).not.toContain(token);
  });

  it("refuses a read-scope token for writes, and a revoked or unknown token everywhere", async () => {
    const reader = await createApiToken(db, { name: unique("reader"), scope: "read" });
    const asReader = await callProcedure(
      baseUrl,
      "experiment.create",
      { name: unique("reader-write") },
      { headers: { ...REMOTE, authorization: `Bearer ${reader.token}` } },
    );
    expect(asReader.status).toBe(403);

    const revoked = await createApiToken(db, { name: unique("revoked"), scope: "admin" });
    await db.apiToken.update({ where: { id: revoked.record.id }, data: { revokedAt: new Date() } });
    for (const token of [revoked.token, "lbk_not_a_real_token"]) {
      const response = await callProcedure(
        baseUrl,
        "experiment.create",
        { name: unique("bad-token") },
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(response.status).toBe(401);
    }
  });

  it("ignores a client's attempt to claim a loopback address", async () => {
    const response = await callProcedure(
      baseUrl,
      "experiment.create",
      { name: unique("spoof") },
      { headers: { ...REMOTE, "x-labbook-remote-address": "127.0.0.1" } },
    );
    expect(response.status).toBe(401);
  });
});

describe("runs list", () => {
  let experimentId: number;
  beforeAll(async () => {
    const created = await createExperiment({
      name: unique("list"),
      runs: [
        { config: { normalization: "sfs", learningRate: 1e-3 }, seeds: [1, 2, 3, 4] },
        { config: { normalization: "zscore", batchSize: 128 }, seeds: [5, 6, 7] },
      ],
    });
    experimentId = created.id;
    // Summary values for some runs only, so sorting must place the nulls last.
    const ids = created.runIds;
    await db.run.update({ where: { id: ids[0] }, data: { bestValAccuracy: 0.8 } });
    await db.run.update({ where: { id: ids[1] }, data: { bestValAccuracy: 0.7 } });
    await db.run.update({ where: { id: ids[4] }, data: { bestValAccuracy: 0.8 } });
    await db.run.update({ where: { id: ids[6] }, data: { status: "running" } });
  });

  type Page = {
    items: { id: number; bestValAccuracy: number | null; normalization: string }[];
    nextCursor: string | null;
    total: number;
  };
  const list = async (input: Record<string, unknown>) => {
    const response = await callProcedure<Page>(
      baseUrl,
      "run.list",
      { experimentId, ...input },
      { kind: "query" },
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body.result?.data as Page;
  };

  it("filters on typed hyperparameters and status", async () => {
    expect((await list({ normalization: ["sfs"] })).total).toBe(4);
    expect((await list({ batchSize: { gte: 100 } })).items.map((r) => r.normalization)).toEqual([
      "zscore",
      "zscore",
      "zscore",
    ]);
    expect((await list({ learningRate: { lte: 5e-4 } })).total).toBe(3);
    expect((await list({ status: ["running"] })).total).toBe(1);
    expect((await list({ seed: { gte: 2, lte: 5 } })).total).toBe(4);
  });

  it("pages through a sort with nulls and ties without losing or repeating a run", async () => {
    const seen: Page["items"] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await list({ sort: { field: "bestValAccuracy", dir: "desc" }, limit: 2, cursor });
      expect(result.total).toBe(7); // every match, on every page
      seen.push(...result.items);
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen.map((r) => r.id)).size).toBe(7);
    expect(seen.map((r) => r.bestValAccuracy)).toEqual([0.8, 0.8, 0.7, null, null, null, null]);
  });

  it("rejects a forged cursor with 400", async () => {
    const response = await callProcedure(
      baseUrl,
      "run.list",
      { experimentId, cursor: "bm90LWpzb24" },
      { kind: "query" },
    );
    expect(response.status).toBe(400);
  });
});

describe("random search", () => {
  const search = {
    space: { learningRate: { min: 1e-4, max: 3e-3 }, batchSize: [32, 64] },
    count: 5,
    samplerSeed: 1234,
    config: { epochs: 2 },
    seeds: [1, 2],
  };

  it("queues count × seeds runs from the server's own sampling and records the search", async () => {
    const { id, runIds } = await createExperiment({ name: unique("search"), search });
    expect(runIds).toHaveLength(10);
    const experiment = await db.experiment.findUniqueOrThrow({ where: { id } });
    expect(experiment.search).toMatchObject({ count: 5, samplerSeed: 1234, seeds: [1, 2] });
    const runs = await db.run.findMany({ where: { experimentId: id }, orderBy: { id: "asc" } });
    expect(runs[0]?.name).toMatch(/^random 1\/5: lr [\d.e-]+ · bs (32|64) · seed 1$/);
    expect(
      runs.every((r) => r.epochs === 2 && (r.learningRate ?? 0) >= 1e-4 && (r.learningRate ?? 1) <= 3e-3),
    ).toBe(true);
    // Queued again with the same sampler seed: the same configs.
    const again = await createExperiment({ name: unique("search-again"), search });
    const copies = await db.run.findMany({ where: { experimentId: again.id }, orderBy: { id: "asc" } });
    expect(copies.map((r) => [r.learningRate, r.batchSize, r.seed])).toEqual(
      runs.map((r) => [r.learningRate, r.batchSize, r.seed]),
    );
  });

  it("refuses a bad search with the field named, and stores nothing", async () => {
    const name = unique("bad-search");
    const response = await callProcedure(baseUrl, "experiment.create", {
      name,
      search: { ...search, space: { learningRate: { min: 0.01, max: 0.001 } } },
    });
    expect(response.status).toBe(400);
    expect(response.body.error?.message).toBe("search.space.learningRate min must be ≤ max");
    expect(await countRows({ name })).toEqual({ experiments: 0, runs: 0 });
  });
});
