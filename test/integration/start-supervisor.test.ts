// `npm start` with LABBOOK_REQUIRE_LOGIN=1: nothing is open without a session or token, and
// the local workers get a token of their own. It keeps those workers alive: one killed with -9
// is restarted (and it says so), and a shutdown never waits on a worker that is already gone.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApiToken } from "@/server/auth/tokens";
import { createUser } from "@/server/auth/users";
import { createDb } from "@/server/db/client";
import { applyMigrations } from "@/server/db/migrate";
import { type LabbookProcess, startLabbook } from "../../scripts/lib/labbook-process";
import { until } from "../../scripts/lib/worker-process";
import { createDatabase, dropDatabase } from "../helpers/database";

const adminUrl = inject("adminUrl");
let url: string;
let labbook: LabbookProcess;

beforeAll(async () => {
  url = await createDatabase(adminUrl, "labbook_supervisor");
  await applyMigrations(url);
}, 120_000);

afterAll(async () => {
  await labbook?.stop("SIGKILL");
  if (url) await dropDatabase(adminUrl, url);
});

/** Pids of this server's local workers (bin/labbook execs node on cli.ts). */
function workerPids(baseUrl: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", `cli.ts worker --url ${baseUrl}`], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number)
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe("npm start with LABBOOK_REQUIRE_LOGIN=1", () => {
  it("refuses every read without a session or token, even from loopback; its own workers get a token", async () => {
    labbook = await startLabbook({
      DATABASE_URL: url,
      LABBOOK_LOCAL_WORKERS: "1",
      LABBOOK_REQUIRE_LOGIN: "1",
    });
    const at = (path: string) => new URL(path, labbook.baseUrl);
    for (const [method, path] of [
      ["GET", "/api/trpc/experiment.list?input=%7B%7D"],
      ["GET", "/api/runs/1/artifacts/weights.bin"],
      ["GET", "/api/runs/1/metrics?format=csv"],
      ["GET", "/api/experiments/1/runs.csv"],
      ["GET", "/api/dataset/test/0"],
      ["POST", "/api/models/any/predict"],
    ]) {
      const response = await fetch(at(path as string), { method, body: method === "POST" ? "x" : undefined });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
        /this Labbook requires a sign-in/,
      );
    }
    const page = await fetch(at("/experiments?x=1"), { redirect: "manual" });
    expect([page.status, page.headers.get("location")]).toEqual([303, "/signin?next=%2Fexperiments%3Fx%3D1"]);
    expect((await fetch(at("/signin"))).status).toBe(200);

    const db = createDb(url);
    try {
      const reader = await createApiToken(db, { name: "reader", scope: "read" });
      const withToken = await fetch(at("/api/trpc/experiment.list?input=%7B%7D"), {
        headers: { authorization: `Bearer ${reader.token}` },
      });
      expect(withToken.status).toBe(200);
      // MLflow's API too: nothing anonymous, not even from this machine; a token reads.
      for (const [method, path] of [
        ["GET", "/api/2.0/mlflow/experiments/get?experiment_id=0"],
        ["POST", "/api/2.0/mlflow/runs/create"],
        ["GET", "/ajax-api/2.0/mlflow/experiments/search"],
        ["GET", "/api/2.0/mlflow-artifacts/artifacts?path=0"],
      ]) {
        const response = await fetch(at(path as string), {
          method,
          body: method === "POST" ? "{}" : undefined,
        });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect(((await response.json()) as { error_code: string }).error_code).toBe("UNAUTHENTICATED");
      }
      const mlflowRead = await fetch(at("/api/2.0/mlflow/experiments/get?experiment_id=0"), {
        headers: { authorization: `Bearer ${reader.token}` },
      });
      expect(mlflowRead.status).toBe(200);
      await createUser(db, { name: "viewer", role: "viewer", password: "a long enough password" });
      const signIn = await fetch(at("/api/auth/signin"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "viewer", password: "a long enough password" }),
      });
      const cookie = signIn.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      const withSession = await fetch(at("/api/trpc/experiment.list?input=%7B%7D"), { headers: { cookie } });
      expect(withSession.status).toBe(200);
      expect((await fetch(at("/experiments"), { headers: { cookie }, redirect: "manual" })).status).toBe(200);

      // The local worker registered with the token npm start made for it.
      const worker = await until(
        () => db.worker.findUnique({ where: { name: "local-1" } }),
        "local-1 to register",
        90_000,
      );
      const token = await db.apiToken.findUnique({ where: { id: worker.tokenId ?? 0 } });
      expect(token).toMatchObject({ name: "npm start: local workers", scope: "write", revokedAt: null });
    } finally {
      await db.$disconnect();
    }
  }, 180_000);

  it("restarts a worker killed with -9, then shuts down within 10 s", async () => {
    const [first] = await until(
      async () => {
        const pids = workerPids(labbook.baseUrl);
        return pids.length === 1 && labbook.output().includes("on wasm") ? pids : null;
      },
      "the local worker to register",
      90_000,
    );
    process.kill(first as number, "SIGKILL");
    await until(
      async () => /worker local-1 exited \(signal SIGKILL\); restarting in 1 s/.test(labbook.output()),
      "the restart notice",
      10_000,
    );
    const [second] = await until(
      async () => {
        const pids = workerPids(labbook.baseUrl);
        return pids.length === 1 && pids[0] !== first ? pids : null;
      },
      "a new worker process",
      30_000,
    );
    expect(second).not.toBe(first);

    // Kill the new one too, then stop Labbook at once: nothing may wait on the dead child.
    process.kill(second as number, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 300));
    const asked = Date.now();
    expect(await labbook.stop("SIGTERM")).toBe(0);
    expect(Date.now() - asked).toBeLessThan(10_000);
    expect(workerPids(labbook.baseUrl)).toEqual([]);
  }, 180_000);
});
