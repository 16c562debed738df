// Reports a worker could not deliver yet, kept on local disk in order and replayed when the
// server is back: training never waits for the server, and nothing is lost or sent twice
// (each report is an idempotent write, removed from the file once acknowledged).
import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { isRetryable } from "./client";

export interface Report {
  procedure: string;
  input: unknown;
}

export class Outbox {
  private flushing: Promise<void> | null = null;
  /** Serialises file access: a push must not land between a rewrite's read and write. */
  private lock: Promise<unknown> = Promise.resolve();

  private locked<T>(work: () => Promise<T>): Promise<T> {
    const result = this.lock.then(work);
    this.lock = result.catch(() => {});
    return result;
  }

  constructor(
    private readonly file: string,
    private readonly send: (report: Report) => Promise<unknown>,
    private readonly onDrop: (report: Report, error: unknown) => void = () => {},
  ) {}

  push(report: Report): Promise<void> {
    return this.locked(async () => {
      await mkdir(path.dirname(this.file), { recursive: true });
      await appendFile(this.file, `${JSON.stringify(report)}\n`);
    });
  }

  async pending(): Promise<Report[]> {
    if (!existsSync(this.file)) return [];
    const text = await readFile(this.file, "utf8");
    return text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Report);
  }

  /** Sends pending reports in order; stops at the first that cannot be delivered yet. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const reports = await this.pending();
    let sent = 0;
    try {
      for (const report of reports) {
        try {
          await this.send(report);
        } catch (error) {
          if (isRetryable(error)) break;
          // The server refused it for good (e.g. the run was deleted): drop it, say so.
          this.onDrop(report, error);
        }
        sent++;
      }
    } finally {
      if (sent > 0) await this.rewrite(sent);
    }
  }

  private rewrite(sent: number): Promise<void> {
    return this.locked(async () => {
      // Reports pushed while draining were appended after the ones read: keep them.
      const rest = (await this.pending()).slice(sent);
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, rest.map((r) => `${JSON.stringify(r)}\n`).join(""));
      await rename(tmp, this.file);
    });
  }

  /** Flushes until empty, retrying every `intervalMs`, for at most `timeoutMs`. */
  async drainFully(timeoutMs: number, intervalMs = 1_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.flush();
      if ((await this.pending()).length === 0) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
