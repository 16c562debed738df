// Runs the `labbook` trainer CLI as a real child process.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const BIN = path.resolve(import.meta.dirname, "../../bin/labbook");

export interface CliRun {
  child: ChildProcess;
  /** JSON lines printed on stdout so far. */
  lines: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  done: Promise<number | string>;
  waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<void>;
}

export function runCli(args: string[]): CliRun {
  const child = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  const waiters: { predicate: (line: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  let stdoutBuffer = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdoutBuffer += chunk.toString();
    let newline = stdoutBuffer.indexOf("\n");
    while (newline >= 0) {
      const text = stdoutBuffer.slice(0, newline);
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      if (text.trim()) {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const w of waiters.filter((w) => w.predicate(line))) w.resolve();
      }
      newline = stdoutBuffer.indexOf("\n");
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    done,
    waitFor(predicate, timeoutMs = 120_000) {
      if (lines.some(predicate)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching line in ${timeoutMs} ms; stderr:\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void done.then((code) => reject(new Error(`labbook exited (${code}) first; stderr:\n${stderr}`)));
      });
    },
  };
}
