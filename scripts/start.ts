// `npm start`: the database (embedded unless DATABASE_URL is set), migrations, a build when
// sources changed, then the dashboard and API on LABBOOK_HOST:LABBOOK_PORT.
import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import path from "node:path";
import { createApiToken } from "../src/server/auth/tokens";
import { readServerConfig } from "../src/server/config";
import { createDb } from "../src/server/db/client";
import { PROJECT_ROOT } from "../src/server/db/migrate";
import { labbookHome, openDatabase } from "../src/server/db/open";
import { startHttpServer } from "../src/server/http/server";
import { buildIfNeeded } from "./build-if-needed";
import { buildNative } from "./build-native";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const dev = process.argv.includes("--dev");
const config = readServerConfig();

const database = await openDatabase();
process.env.DATABASE_URL = database.url;
console.log(`Database: ${database.source}`);
if (!dev) buildIfNeeded();
buildNative({ ifStale: true });

const server = await startHttpServer({
  host: config.LABBOOK_HOST,
  port: config.LABBOOK_PORT,
  dev,
  trustProxy: config.LABBOOK_TRUST_PROXY,
  trustedProxies: config.LABBOOK_TRUSTED_PROXIES,
  allowedHosts: config.LABBOOK_ALLOWED_HOSTS,
});
const address = server.address();
const port = typeof address === "object" && address ? address.port : config.LABBOOK_PORT;
console.log(`Labbook is ready on http://${config.LABBOOK_HOST}:${port}`);

// One local trainer, so that queued runs train with nothing else set up (LABBOOK_LOCAL_WORKERS=0 to skip).
const localWorkers = Number(process.env.LABBOOK_LOCAL_WORKERS ?? 1);
const workerEnv = await localWorkerCredentials(localWorkers);
let stopping = false;
const workers = Array.from({ length: localWorkers }, (_, i) =>
  superviseWorker(`local-${i + 1}`, () =>
    spawn(
      path.join(PROJECT_ROOT, "bin", "labbook"),
      ["worker", "--url", `http://127.0.0.1:${port}`, "--name", `local-${i + 1}`],
      {
        stdio: "inherit",
        env: {
          ...process.env,
          ...workerEnv,
          LABBOOK_WORKER_STATE: path.join(labbookHome(), "workers", `local-${i + 1}`),
          // The cores are shared out between the local workers, unless the user chose.
          LABBOOK_THREADS:
            process.env.LABBOOK_THREADS ||
            String(Math.max(1, Math.floor(availableParallelism() / localWorkers))),
        },
      },
    ),
  ),
);
if (localWorkers > 0) console.log(`Started ${localWorkers} local trainer worker(s)`);

/**
 * With LABBOOK_REQUIRE_LOGIN=1 even this machine's workers need a token: a fresh write token
 * each start (the last one revoked). The local-N names go to whichever credential they use now.
 */
async function localWorkerCredentials(count: number): Promise<Record<string, string>> {
  if (count === 0) return {};
  const db = createDb(database.url);
  try {
    const tokenName = "npm start: local workers";
    let token: { token: string; record: { id: number } } | null = null;
    if (config.LABBOOK_REQUIRE_LOGIN) {
      await db.apiToken.updateMany({
        where: { name: tokenName, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      token = await createApiToken(db, { name: tokenName, scope: "write" });
    }
    if (!token && process.env.LABBOOK_TOKEN) return {}; // the workers use the caller's own token
    const names = Array.from({ length: count }, (_, i) => `local-${i + 1}`);
    await db.worker.updateMany({
      where: { name: { in: names } },
      data: { tokenId: token?.record.id ?? null },
    });
    return token ? { LABBOOK_TOKEN: token.token } : {};
  } finally {
    await db.$disconnect();
  }
}

/**
 * Keeps a local worker running: one that exits on its own is restarted, after 1 s, then twice
 * as long after each quick exit (at most a minute); a worker that ran for a minute starts over.
 */
function superviseWorker(name: string, start: () => ChildProcess) {
  let child = start();
  let backoffMs = 1_000;
  let startedAt = Date.now();
  let restart: NodeJS.Timeout | undefined;
  const watch = (current: ChildProcess) =>
    current.once("exit", (code, signal) => {
      if (stopping) return;
      if (Date.now() - startedAt > 60_000) backoffMs = 1_000;
      console.log(
        `worker ${name} exited (${signal ? `signal ${signal}` : `code ${code}`}); restarting in ${backoffMs / 1000} s`,
      );
      restart = setTimeout(() => {
        if (stopping) return;
        startedAt = Date.now();
        child = start();
        watch(child);
      }, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 60_000);
    });
  watch(child);
  return {
    /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; never waits on an exited child. */
    async stop(graceMs: number) {
      clearTimeout(restart);
      const current = child;
      if (current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise((resolve) => current.once("exit", resolve));
      current.kill("SIGTERM");
      const timer = setTimeout(() => current.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping Labbook…`);
  // Workers hand their runs back through the server, so they stop first.
  await Promise.all(workers.map((worker) => worker.stop(7_000)));
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await database.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
