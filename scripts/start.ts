// `npm start`: the database (embedded unless DATABASE_URL is set), migrations, a build when
// sources changed, then the dashboard and API on LABBOOK_HOST:LABBOOK_PORT.
import { spawn } from "node:child_process";
import path from "node:path";
import { readServerConfig } from "../src/server/config";
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
});
const address = server.address();
const port = typeof address === "object" && address ? address.port : config.LABBOOK_PORT;
console.log(`Labbook is ready on http://${config.LABBOOK_HOST}:${port}`);

// One local trainer, so that queued runs train with nothing else set up (LABBOOK_LOCAL_WORKERS=0 to skip).
const localWorkers = Number(process.env.LABBOOK_LOCAL_WORKERS ?? 1);
const workers = Array.from({ length: localWorkers }, (_, i) =>
  spawn(
    path.join(PROJECT_ROOT, "bin", "labbook"),
    ["worker", "--url", `http://127.0.0.1:${port}`, "--name", `local-${i + 1}`],
    {
      stdio: "inherit",
      env: { ...process.env, LABBOOK_WORKER_STATE: path.join(labbookHome(), "workers", `local-${i + 1}`) },
    },
  ),
);
if (localWorkers > 0) console.log(`Started ${localWorkers} local trainer worker(s)`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping Labbook…`);
  await Promise.all(
    workers.map(async (worker) => {
      if (worker.exitCode !== null) return;
      const exited = new Promise((resolve) => worker.once("exit", resolve));
      worker.kill("SIGTERM");
      await exited;
    }),
  );
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await database.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
