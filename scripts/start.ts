// `npm start`: the database (embedded unless DATABASE_URL is set), migrations, a build when
// sources changed, then the dashboard and API on LABBOOK_HOST:LABBOOK_PORT.
import { readServerConfig } from "../src/server/config";
import { openDatabase } from "../src/server/db/open";
import { startHttpServer } from "../src/server/http/server";
import { buildIfNeeded } from "./build-if-needed";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const dev = process.argv.includes("--dev");
const config = readServerConfig();

const database = await openDatabase();
process.env.DATABASE_URL = database.url;
console.log(`Database: ${database.source}`);
if (!dev) buildIfNeeded();

const server = await startHttpServer({
  host: config.LABBOOK_HOST,
  port: config.LABBOOK_PORT,
  dev,
  trustProxy: config.LABBOOK_TRUST_PROXY,
});
const address = server.address();
const port = typeof address === "object" && address ? address.port : config.LABBOOK_PORT;
console.log(`Labbook is ready on http://${config.LABBOOK_HOST}:${port}`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping Labbook…`);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await database.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
