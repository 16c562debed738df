// Holes found by a review of the API (issue "Security"), each tried again against the real
// server: out-of-range ids and cursors, batch size, a metric at step 2^31 - 1, CSV formulas,
// evaluations from a worker that does not hold the run, and a deleted run with an expired lease.
import { createHash } from "node:crypto";
import { request } from "node:http";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createApiToken } from "@/server/auth/tokens";
import { createDb } from "@/server/db/client";
import { createExperiment } from "@/server/services/experiments";
import { queueRuns } from "@/server/services/runs";
import { MAX_BATCH_SIZE } from "@/shared/api";
import { experimentCreateSchema, runSpecSchema } from "@/shared/experiments";
import { LabbookClient } from "@/trainer/worker/client";
import { asTheirWorker } from "../helpers/held-run";
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

  it("answers an MLflow artifact path with an experiment id past int4 with a 404 (found by the fuzzer)", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await fetch(
        new URL(`/api/2.0/mlflow-artifacts/artifacts/2147483648/${"a".repeat(32)}/artifacts/x`, baseUrl),
        { method, body: method === "PUT" ? "x" : undefined },
      );
      expect(response.status, method).toBe(404);
    }
  });

  it("answers a path with a broken percent-escape with a 400, not Next.js's 500 (found by the fuzzer)", async () => {
    for (const path of [
      "/api/dataset/test/%",
      "/models/%E0%A4%A",
      "/api/runs/%/metrics",
      "/api/experiments/%E0%A4%A/runs.csv",
    ]) {
      const response = await raw("GET", path, {});
      expect(response.status, path).toBe(400);
      expect(response.body).toContain("malformed percent-escape");
    }
  });

  it("refuses NUL characters and lone surrogates anywhere in the input with a 400, storing nothing (found by the fuzzer)", async () => {
    const name = unique("nul");
    for (const input of [
      { name: "\u0000" },
      { name: "\ud800" },
      { name, description: "x\udc00y" },
      { name, description: "a\u0000b" },
      { name, runs: [{ config: { normalization: "sfs" }, name: "x\u0000" }] },
      { name, runs: [{ "\u0000": 1 }] },
    ]) {
      const response = await callProcedure(baseUrl, "experiment.create", input);
      expect(response.status, JSON.stringify(input)).toBe(400);
      expect(response.body.error?.message).toMatch(
        /must be valid Unicode text, without NUL .* or lone surrogates$/,
      );
    }
    expect(await db.experiment.count({ where: { name } })).toBe(0);
    const log = await callProcedure(baseUrl, "worker.log", {
      runId: 1,
      lines: [{ message: "bad \u0000 byte" }],
    });
    expect([log.status, log.body.error?.message]).toEqual([
      400,
      "lines[0].message must be valid Unicode text, without NUL (\\u0000) characters or lone surrogates",
    ]);
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
    await asTheirWorker(db, [runId], () => api.logMetrics(runId, points));
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

describe("deleted runs", () => {
  it("serve no logs, metrics, artifacts or evaluations, and run.get shows no worker token", async () => {
    const { runIds } = await runs(1);
    const runId = runIds[0] as number;
    await asTheirWorker(db, [runId], async () => {
      await api.logMetrics(runId, [{ key: "loss", step: 1, value: 1 }]);
      await api.upload(runId, "notes.txt", "other", Buffer.from("private"), "text/plain");
      await callProcedure(baseUrl, "worker.log", { runId, lines: [{ message: "secret line" }] });
    });
    const visible = await get("run.get", { id: runId });
    expect(JSON.stringify(visible.body)).not.toContain("tokenId");
    await callProcedure(baseUrl, "run.delete", { ids: [runId] });
    expect((await fetch(new URL(`/api/runs/${runId}/artifacts/notes.txt`, baseUrl))).status).toBe(404);
    expect((await fetch(new URL(`/api/runs/${runId}/metrics?format=json`, baseUrl))).status).toBe(404);
    expect((await get("run.artifacts", { id: runId })).body.result?.data).toEqual([]);
    expect(JSON.stringify((await get("run.logs", { id: runId })).body)).not.toContain("secret line");
    expect((await get("metric.history", { runIds: [runId], keys: ["loss"] })).body.result?.data).toEqual([]);
    expect((await get("metric.keys", { runIds: [runId] })).body.result?.data).toEqual([]);
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

  it("takes points, log lines and artifacts only from the worker holding the run (found by reading the code)", async () => {
    const { runIds } = await runs(3);
    const [held, queued, finished] = runIds as [number, number, number];
    const owner = await createApiToken(db, { name: unique("owner"), scope: "write" });
    const other = await createApiToken(db, { name: unique("other"), scope: "write" });
    const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    const worker = await callProcedure<{ id: number }>(
      baseUrl,
      "worker.register",
      { name: unique("writer"), host: "box", backend: "wasm" },
      as(owner.token),
    );
    const workerId = worker.body.result?.data.id as number;
    await db.run.update({ where: { id: held }, data: { status: "running", workerId } });
    await db.run.update({ where: { id: finished }, data: { status: "succeeded", workerId } });
    const point = (runId: number) => ({ runId, points: [{ key: "loss", step: 1, value: 1 }] });
    const line = (runId: number) => ({ runId, lines: [{ message: "written" }] });
    const upload = (runId: number, token: string) =>
      fetch(new URL(`/api/runs/${runId}/artifacts/checkpoint`, baseUrl), {
        method: "PUT",
        headers: {
          authorization: `Bearer ${token}`,
          "x-artifact-kind": "checkpoint",
          "x-content-sha256": createHash("sha256").update("ckpt").digest("hex"),
        },
        body: "ckpt",
      });

    // Another token: not on a running run it does not hold, nor on a queued or finished one.
    for (const runId of [held, queued, finished]) {
      const refused = [
        await callProcedure(baseUrl, "metric.log", point(runId), as(other.token)),
        await callProcedure(baseUrl, "worker.log", line(runId), as(other.token)),
      ];
      expect(refused.map((r) => r.status)).toEqual(runId === held ? [403, 403] : [409, 409]);
      expect((await upload(runId, other.token)).status).toBe(runId === held ? 403 : 409);
    }
    // The holder itself: only while the run is running.
    expect((await callProcedure(baseUrl, "worker.log", line(finished), as(owner.token))).status).toBe(409);
    expect((await upload(queued, owner.token)).status).toBe(409);
    expect((await callProcedure(baseUrl, "metric.log", point(held), as(owner.token))).status).toBe(200);
    expect((await callProcedure(baseUrl, "worker.log", line(held), as(owner.token))).status).toBe(200);
    expect((await upload(held, owner.token)).status).toBe(201);
    expect(await db.metricPoint.count({ where: { runId: { in: runIds } } })).toBe(1);
    expect(await db.runLog.count({ where: { runId: { in: runIds }, message: "written" } })).toBe(1);
    expect(await db.artifact.count({ where: { runId: { in: runIds } } })).toBe(1);
    // A run that does not exist: a 404, not a database error (found by the schema fuzzer).
    expect((await callProcedure(baseUrl, "worker.log", line(2 ** 31 - 1))).status).toBe(404);
  });

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

/** A raw HTTP request, so that Host and other headers a browser sets can be set freely. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
  port = new URL(baseUrl).port,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port, path: url.pathname + url.search, method, headers },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("requests a browser could be tricked into sending", () => {
  const host = new URL(baseUrl).host;

  it("answers only to host names Labbook serves (DNS rebinding)", async () => {
    const rebound = await raw("GET", "/api/trpc/experiment.list", { host: "evil.example:3000" });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).error.message).toMatch(
      /does not serve the host name "evil.example:3000"/,
    );
    expect(
      (await raw("GET", "/api/trpc/experiment.list", { host: `localhost:${new URL(baseUrl).port}` })).status,
    ).toBe(200);
  });

  it("refuses cross-site writes and form posts, and stores nothing", async () => {
    const { runIds } = await runs(1);
    const runId = runIds[0] as number;
    await callProcedure(baseUrl, "run.delete", { ids: [runId] });
    const form = { "content-type": "multipart/form-data; boundary=x", host };
    const attempts = [
      { ...form, origin: "http://evil.example", "sec-fetch-site": "cross-site" },
      { ...form, "sec-fetch-site": "cross-site" },
      { ...form, origin: "http://evil.example" },
      { "content-type": "application/json", host, origin: "null" },
      form,
      { "content-type": "text/plain", host },
    ];
    const statuses = [];
    for (const headers of attempts)
      statuses.push((await raw("POST", "/api/trpc/run.purge", headers, "--x--\r\n")).status);
    expect(statuses).toEqual([403, 403, 403, 403, 415, 415]);
    expect(await db.run.findUnique({ where: { id: runId } })).not.toBeNull();
    // The dashboard's own same-origin calls still work.
    const same = await raw(
      "POST",
      "/api/trpc/run.delete",
      { "content-type": "application/json", host, origin: `http://${host}`, "sec-fetch-site": "same-origin" },
      JSON.stringify({ ids: [runId], deleted: false }),
    );
    expect(same.status, same.body).toBe(200);
  });

  it("takes the client address from the rightmost X-Forwarded-For hop, not one the client wrote", async () => {
    const name = unique("spoof");
    const spoofed = await raw(
      "POST",
      "/api/trpc/experiment.create",
      {
        "content-type": "application/json",
        host,
        "x-forwarded-for": "127.0.0.1, 203.0.113.9",
        "x-labbook-remote-address": "127.0.0.1",
      },
      JSON.stringify({ name, runs: [{ config: {} }] }),
    );
    expect(spoofed.status).toBe(401);
    expect(await db.experiment.count({ where: { name } })).toBe(0);
  });
});

/** A TCP forwarder like `socat TCP-LISTEN:port,fork TCP:labbook`: bytes only, no headers added. */
async function forwarder(): Promise<{ port: number; close: () => Promise<void> }> {
  const target = new URL(baseUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe("a proxy or forwarder on the same machine (found by reading the code)", () => {
  const create = (name: string) => JSON.stringify({ name, runs: [{ config: {} }] });
  const json = { "content-type": "application/json" };

  it("makes its clients remote: no writes without a token", async () => {
    const socat = await forwarder();
    try {
      const name = unique("forwarded");
      // The browser behind socat names the forwarder's port (or its public host) in Host.
      const through = await raw(
        "POST",
        "/api/trpc/experiment.create",
        { ...json, host: `127.0.0.1:${socat.port}` },
        create(name),
        String(socat.port),
      );
      expect(through.status, through.body).toBe(401);
      // nginx's defaults: Host rewritten to Labbook's own, HTTP/1.0, no X-Forwarded-For.
      const nginx = await new Promise<string>((resolve, reject) => {
        const socket = connect(socat.port, "127.0.0.1", () =>
          socket.write(
            `POST /api/trpc/experiment.create HTTP/1.0\r\nHost: ${new URL(baseUrl).host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(create(name))}\r\nConnection: close\r\n\r\n${create(name)}`,
          ),
        );
        let text = "";
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      expect(nginx.split("\r\n")[0]).toMatch(/^HTTP\/1\.[01] 401/);
      expect(await db.experiment.count({ where: { name } })).toBe(0);
      // The same request straight from this machine is local, as before.
      const direct = await raw(
        "POST",
        "/api/trpc/experiment.create",
        { ...json, host: new URL(baseUrl).host },
        create(name),
      );
      expect(direct.status, direct.body).toBe(200);
    } finally {
      await socat.close();
    }
  });
});

describe("headers on every answer", () => {
  it("forbid framing and sniffing, and keep the referrer on the site (found by attack)", async () => {
    const host = new URL(baseUrl).host;
    const answers = [
      await raw("GET", "/experiments", { host }),
      await raw("GET", "/api/trpc/experiment.list?input=%7B%7D", { host }),
      await raw("GET", "/api/runs/2147483647/metrics", { host }),
      await raw("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", { host }),
      await raw("GET", "/no-such-page", { host }),
      await raw("GET", "/experiments", { host: "evil.example" }),
      await raw("POST", "/experiments", { host, "content-type": "text/plain", "next-action": "x" }, "[]"),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 200, 404, 421, 405]);
    for (const answer of answers) {
      expect(answer.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
      expect(answer.headers["content-security-policy"]).toMatch(/object-src 'none'/);
      expect(answer.headers["x-frame-options"]).toBe("DENY");
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["referrer-policy"]).toBe("same-origin");
      expect(answer.headers["cross-origin-resource-policy"]).toBe("same-origin");
    }
    // A post to a page (Next.js would look for a Server Action, and log a stack) is a plain 405.
    expect(answers[6]?.headers.allow).toBe("GET, HEAD");
    expect(answers[6]?.body).not.toMatch(/Server Action|\n\s+at /);
  });
});

describe("write amplification (found by reading the code)", () => {
  it("caps the runs one call queues, and says so, storing nothing", async () => {
    const name = unique("amplified");
    const seeds = Array.from({ length: 100 }, (_, i) => i + 1);
    const response = await callProcedure(baseUrl, "experiment.create", {
      name,
      runs: Array.from({ length: 11 }, () => ({ config: { epochs: 1 }, seeds })),
    });
    expect(response.status).toBe(400);
    expect(response.body.error?.message).toMatch(
      /this would queue 1,100 runs; one request queues at most 1,000 \(LABBOOK_MAX_RUNS_PER_REQUEST\)/,
    );
    expect(await db.experiment.count({ where: { name } })).toBe(0);
  });

  it("caps the runs an experiment holds (LABBOOK_MAX_RUNS_PER_EXPERIMENT), even for calls at once", async () => {
    process.env.LABBOOK_MAX_RUNS_PER_EXPERIMENT = "30";
    try {
      const { id } = await createExperiment(db, experimentCreateSchema.parse({ name: unique("capped") }));
      const spec = runSpecSchema.parse({ seeds: Array.from({ length: 10 }, (_, i) => i + 1) });
      const calls = await Promise.allSettled(
        Array.from({ length: 5 }, () => db.$transaction((tx) => queueRuns(tx, id, [spec]))),
      );
      expect(calls.filter((c) => c.status === "fulfilled")).toHaveLength(3);
      const refused = calls.find((c) => c.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason.message).toMatch(/holds 30 runs; 10 more would pass its limit of 30/);
      expect(await db.run.count({ where: { experimentId: id } })).toBe(30);
    } finally {
      delete process.env.LABBOOK_MAX_RUNS_PER_EXPERIMENT;
    }
  });
});

describe("uploads to a run the caller may not write (found by reading the code)", () => {
  it("are refused before their body is read: eight 256 MiB PUTs answer at once, and the API keeps answering", async () => {
    const { runIds } = await runs(1);
    const target = new URL(baseUrl);
    const paths = [
      `/api/runs/${runIds[0]}/artifacts/checkpoint`, // queued: nobody writes to it
      "/api/runs/2147483647/artifacts/checkpoint", // no such run
      `/api/2.0/mlflow-artifacts/artifacts/0/${"b".repeat(32)}/artifacts/x.bin`,
    ];
    const started = Date.now();
    const answers = await Promise.all(
      Array.from(
        { length: 8 },
        (_, i) =>
          new Promise<number>((resolve, reject) => {
            // Announces 256 MiB, sends 64 KiB, and never ends: only an early answer finishes it.
            const req = request(
              {
                host: target.hostname,
                port: target.port,
                method: "PUT",
                path: paths[i % paths.length],
                headers: {
                  "content-length": String(256 * 1024 * 1024),
                  "x-artifact-kind": "checkpoint",
                  "x-content-sha256": "0".repeat(64),
                },
              },
              (res) => {
                res.resume();
                resolve(res.statusCode ?? 0);
                req.destroy();
              },
            );
            req.on("error", (error) => (req.destroyed ? undefined : reject(error)));
            req.write(Buffer.alloc(64 * 1024));
          }),
      ),
    );
    expect(
      answers.every((status) => [404, 409].includes(status)),
      JSON.stringify(answers),
    ).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await fetch(new URL("/api/trpc/auth.me", baseUrl))).status).toBe(200);
  }, 30_000);
});
