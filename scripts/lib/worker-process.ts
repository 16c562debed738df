// Real `labbook worker` processes for tests: by default on a synthetic dataset and the wasm
// backend, with a 500 ms heartbeat.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const BIN = path.resolve(import.meta.dirname, "../../bin/labbook");

export type WorkerProcess = ChildProcess & { log: () => string };

export function startWorker(options: {
  url: string;
  name: string;
  dataDir: string;
  stateDir: string;
  leaseMs?: number;
  heartbeatMs?: number;
  /** "auto" picks the fastest backend, as a user's worker does. */
  backend?: string;
  /** The real CIFAR-10 (sha256-checked) rather than synthetic files in its format. */
  officialData?: boolean;
  /** Blocks the training thread this long after every batch: a step that really takes seconds. */
  blockAfterBatchMs?: number;
}): WorkerProcess {
  const child = spawn(
    BIN,
    [
      "worker",
      "--url",
      options.url,
      "--name",
      options.name,
      "--data-dir",
      options.dataDir,
      ...(options.officialData ? [] : ["--unverified-data"]),
      "--backend",
      options.backend ?? "wasm",
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        LABBOOK_WORKER_STATE: path.join(options.stateDir, options.name),
        LABBOOK_HEARTBEAT_MS: String(options.heartbeatMs ?? 500),
        LABBOOK_POLL_MS: "300",
        LABBOOK_LEASE_MS: String(options.leaseMs ?? 5_000),
        LABBOOK_TEST_BLOCK_AFTER_BATCH_MS: String(options.blockAfterBatchMs ?? 0),
      },
    },
  );
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  return Object.assign(child, { log: () => log });
}

/** Resolves with the exit code once the worker has exited. */
export function exited(worker: ChildProcess): Promise<number | null> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve(worker.exitCode);
  return new Promise((resolve) => worker.once("exit", (code) => resolve(code)));
}

export async function stopWorker(worker: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  worker.kill(signal);
  await exited;
}

/** Polls `probe` until it returns something truthy. */
export async function until<T>(
  probe: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
