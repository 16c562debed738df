// The control thread's handle on a training thread: starts it, hands it one run at a time,
// and turns its messages into calls on the run's handlers, in order. Stopping sets a flag in
// shared memory that the trainer checks between batches; kill() ends the thread outright,
// for when a stop cannot wait for the next check.
import { SHARE_ENV, Worker as Thread } from "node:worker_threads";
import type { Evaluation } from "../../shared/scoring";
import type { BackendName } from "../backend";
import type { BatchProgress, EpochMetrics } from "../train";
import {
  type FromTrainingThread,
  type RunFile,
  STOP_FLAG,
  type ToTrainingThread,
  type TrainingThreadOptions,
  type TrainJob,
} from "./training-protocol";

export type TrainOutcome =
  | { type: "finished"; modelJson: Buffer; weights: Buffer; test: Evaluation | null; modelEpoch: number }
  | { type: "stopped" }
  | { type: "failed"; error: string };

export interface TrainHandlers {
  onLog(message: string, level: "info" | "warn" | "error", time: string): void;
  onBatch(progress: BatchProgress): void;
  onRunInfo(files: RunFile[]): Promise<void>;
  onEpoch(metrics: EpochMetrics, test: Evaluation | undefined, checkpoint: Buffer | null): Promise<void>;
}

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export class TrainingThread {
  readonly ready: Promise<{ backend: BackendName; skipped: string[] }>;
  private readonly thread: Thread;
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private current: { handlers: TrainHandlers; resolve: (outcome: TrainOutcome) => void } | null = null;
  /** Handlers that report to the server run one after another, in the thread's order. */
  private queue: Promise<void> = Promise.resolve();
  private exited = false;
  private killed = false;
  private lastError: Error | null = null;

  constructor(options: Omit<TrainingThreadOptions, "control">) {
    const threadOptions: TrainingThreadOptions = {
      ...options,
      control: this.control.buffer as SharedArrayBuffer,
    };
    this.thread = new Thread(new URL("../../shared/thread-boot.mjs", import.meta.url), {
      workerData: { entry: new URL("./training-thread.ts", import.meta.url).href, options: threadOptions },
      // One environment: the native kernels set OPENBLAS_CORETYPE before OpenBLAS reads it.
      env: SHARE_ENV,
    });
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (message: FromTrainingThread) => {
        if (message.type === "ready") resolve({ backend: message.backend, skipped: message.skipped });
        if (message.type === "startFailed") reject(new Error(message.error));
      };
      this.thread.on("message", onMessage);
      this.thread.once("exit", (code) =>
        reject(
          new Error(
            `the training thread exited (code ${code}) before it was ready: ${this.lastError?.message}`,
          ),
        ),
      );
    });
    this.ready.catch(() => {});
    this.thread.on("message", (message: FromTrainingThread) => this.dispatch(message));
    this.thread.on("error", (error) => {
      this.lastError = error;
    });
    this.thread.on("exit", (code) => {
      this.exited = true;
      this.settle(
        this.killed
          ? { type: "stopped" }
          : {
              type: "failed",
              error: `the training thread exited (code ${code})${this.lastError ? `: ${this.lastError.message}` : ""}`,
            },
      );
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Trains one run; resolves once every handler of its messages has run. */
  train(job: TrainJob, handlers: TrainHandlers): Promise<TrainOutcome> {
    if (this.current) throw new Error("the training thread is busy");
    if (this.exited) return Promise.resolve({ type: "failed", error: "the training thread has exited" });
    Atomics.store(this.control, STOP_FLAG, 0);
    return new Promise((resolve) => {
      this.current = { handlers, resolve };
      this.thread.postMessage({ type: "train", job } satisfies ToTrainingThread);
    });
  }

  /** Asks the current run to stop at its next batch (or validation batch). */
  requestStop(): void {
    Atomics.store(this.control, STOP_FLAG, 1);
  }

  /** Ends the thread now; a run in progress resolves as stopped. */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.killed = true;
    await this.thread.terminate();
  }

  private settle(outcome: TrainOutcome): void {
    const current = this.current;
    if (!current) return;
    this.queue = this.queue.then(() => {
      if (this.current === current) {
        this.current = null;
        current.resolve(outcome);
      }
    });
  }

  private enqueue(work: () => Promise<void>, handlers: TrainHandlers): void {
    this.queue = this.queue
      .then(work)
      .catch((error: unknown) =>
        handlers.onLog(`reporting failed: ${(error as Error).message}`, "warn", new Date().toISOString()),
      );
  }

  private dispatch(message: FromTrainingThread): void {
    const handlers = this.current?.handlers;
    if (!handlers) return;
    switch (message.type) {
      case "log":
        handlers.onLog(message.message, message.level, message.time);
        break;
      case "batch":
        handlers.onBatch(message.progress);
        break;
      case "runInfo":
        this.enqueue(() => handlers.onRunInfo(message.files), handlers);
        break;
      case "epoch":
        this.enqueue(
          () =>
            handlers.onEpoch(
              message.metrics,
              message.test,
              message.checkpoint && toBuffer(message.checkpoint),
            ),
          handlers,
        );
        break;
      case "finished":
        this.settle({
          type: "finished",
          modelJson: toBuffer(message.modelJson),
          weights: toBuffer(message.weights),
          test: message.test,
          modelEpoch: message.modelEpoch,
        });
        break;
      case "stopped":
        this.settle({ type: "stopped" });
        break;
      case "failed":
        this.settle({ type: "failed", error: message.error });
        break;
    }
  }
}
