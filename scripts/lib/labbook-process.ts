// Starts the real Labbook server (scripts/start.ts) as a child process, for tests and scripts.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface LabbookProcess {
  baseUrl: string;
  child: ChildProcess;
  output(): string;
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startLabbook(
  env: Record<string, string | undefined>,
  timeoutMs = 90_000,
): Promise<LabbookProcess> {
  // An undefined value removes the variable (e.g. DATABASE_URL, to use the embedded database).
  const childEnv = Object.fromEntries(
    Object.entries({
      ...process.env,
      LABBOOK_HOST: "127.0.0.1",
      LABBOOK_PORT: "0",
      LABBOOK_LOCAL_WORKERS: "0",
      ...env,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const child = spawn(path.join(ROOT, "node_modules", ".bin", "tsx"), ["scripts/start.ts"], {
    cwd: ROOT,
    env: childEnv as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Labbook did not start in ${timeoutMs} ms:\n${log}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const match = log.match(/Labbook is ready on (http:\/\/\S+)/);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Labbook exited with ${code} before it was ready:\n${log}`));
    });
  });
  return {
    baseUrl,
    child,
    output: () => log,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
