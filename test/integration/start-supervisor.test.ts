// `npm start` keeps its local workers alive: one killed with -9 is restarted (and it says so),
// and a shutdown never waits on a worker that is already gone.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
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

describe("npm start's local workers", () => {
  it("restarts a worker killed with -9, then shuts down within 10 s", async () => {
    labbook = await startLabbook({ DATABASE_URL: url, LABBOOK_LOCAL_WORKERS: "1" });
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
