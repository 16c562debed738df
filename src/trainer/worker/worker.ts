// A trainer worker: registers with a Labbook server, claims queued runs, trains them and
// reports every epoch, like a ClearML or W&B Launch agent. It needs only the server's URL and
// a token, so it can run on another machine (a GPU box).
//
// Two threads: training runs in a worker thread (training-thread.ts), and this one only talks
// to the server. A synchronous backend blocks its thread for a whole step or evaluation pass,
// so heartbeats, cancel checks, outbox flushes and signals live where nothing blocks them.
import os from "node:os";
import path from "node:path";
import { type Hyperparams, hyperparamsSchema } from "../../shared/hyperparams";
import { BATCH_METRIC_KEYS, EPOCH_METRIC_KEYS, type MetricPointInput } from "../../shared/metrics";
import {
  type ClaimedRun,
  claimedRunSchema,
  heartbeatReplySchema,
  SKIPPED_BACKENDS,
  type WorkerInfo,
  workerRegisteredSchema,
} from "../../shared/workers";
import type { BackendName } from "../backend";
import { readCheckpointMeta, unpackCheckpoint } from "../checkpoint-file";
import type { BatchProgress, EpochMetrics } from "../train";
import { ApiError, isRetryable, LabbookClient } from "./client";
import { Outbox } from "./outbox";
import { TrainingThread } from "./training-thread-handle";

export interface WorkerOptions {
  url: string;
  token?: string;
  name: string;
  dataDir: string;
  /** Fetch CIFAR-10 into dataDir when it is missing (the default cache). */
  fetchData: boolean;
  /** "format" accepts synthetic data in the official format (tests). */
  dataCheck: "official" | "format";
  stateDir: string;
  backend: BackendName | "auto";
  pollMs: number;
  heartbeatMs: number;
  leaseMs: number;
  /** How long a stop waits for the trainer's next batch before ending its thread. */
  stopGraceMs?: number;
  /** Tests: block the training thread after every batch, as a slow synchronous step would. */
  blockAfterBatchMs?: number;
  log: (message: string) => void;
}

/** Why a run stops before its end: each ends the attempt differently. */
type StopReason = "cancel" | "lease-lost" | "shutdown" | "token-refused";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `fn` until it succeeds or fails for good (a 4xx); waits between network failures. */
async function retrying<T>(
  fn: () => Promise<T>,
  log: (m: string) => void,
  what: string,
  stop: () => boolean,
): Promise<T> {
  for (let delay = 1_000; ; delay = Math.min(delay * 2, 15_000)) {
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error) || stop()) throw error;
      log(`${what} failed (${(error as Error).message}); retrying in ${delay / 1000} s`);
      await sleep(delay);
    }
  }
}

export function epochPoints(m: EpochMetrics, system: Record<string, number>): MetricPointInput[] {
  const k = EPOCH_METRIC_KEYS;
  const at = { step: m.epoch, ...(m.wallTime ? { wallTime: m.wallTime } : {}) };
  return [
    { key: k.loss, value: m.loss, ...at },
    { key: k.accuracy, value: m.accuracy, ...at },
    { key: k.valLoss, value: m.valLoss, ...at },
    ...(m.valCrossEntropy === undefined ? [] : [{ key: k.valCrossEntropy, value: m.valCrossEntropy, ...at }]),
    { key: k.valAccuracy, value: m.valAccuracy, ...at },
    { key: k.lr, value: m.lr, ...at },
    { key: k.epochSeconds, value: m.epochSeconds, ...at },
    { key: k.imagesPerSecond, value: m.imagesPerSecond, ...at },
    ...Object.entries(system).map(([key, value]) => ({ key: `sys/${key}`, value, ...at })),
  ];
}

export function batchPoints(p: BatchProgress): MetricPointInput[] {
  const step = (p.epoch - 1) * p.batches + p.batch;
  const wallTime = new Date(p.time).toISOString();
  return [
    { key: BATCH_METRIC_KEYS.loss, step, value: p.batchLoss, wallTime },
    { key: BATCH_METRIC_KEYS.accuracy, step, value: p.batchAccuracy, wallTime },
  ];
}

/** Process CPU % since the previous call (all threads), and memory, for the run's system charts. */
function systemSampler() {
  let lastCpu = process.cpuUsage();
  let lastTime = performance.now();
  return () => {
    const cpu = process.cpuUsage(lastCpu);
    const now = performance.now();
    const percent = ((cpu.user + cpu.system) / 1000 / (now - lastTime)) * 100;
    lastCpu = process.cpuUsage();
    lastTime = now;
    return {
      cpu_percent: Math.round(percent * 10) / 10,
      memory_mb: Math.round(process.memoryUsage().rss / 1e6),
      load_1m: os.loadavg()[0] ?? 0,
    };
  };
}

/** Uploads only the newest of what it is offered: a checkpoint superseded in the queue is skipped. */
class LatestUpload {
  private pending: Buffer | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly upload: (bytes: Buffer) => Promise<void>) {}

  offer(bytes: Buffer): void {
    this.pending = bytes;
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const bytes = this.pending;
      this.pending = null;
      await this.upload(bytes);
    }
  }

  /** Waits for uploads in flight, for at most `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.running) await Promise.race([this.running, sleep(timeoutMs)]);
  }
}

export class Worker {
  private readonly client: LabbookClient;
  private stopping = false;
  private thread: TrainingThread | null = null;
  /** Stops the run in progress, if any. */
  private stopRun: ((reason: StopReason) => void) | null = null;
  private tokenRefused: string | null = null;

  constructor(private readonly options: WorkerOptions) {
    this.client = new LabbookClient(options.url, options.token);
  }

  /** Stops the current run at its next batch, hands it back to the queue and exits. */
  stop(): void {
    this.stopping = true;
    this.stopRun?.("shutdown");
  }

  /** The training thread, started again if it has exited (a crash, or a kill on stop). */
  private async trainingThread(): Promise<{
    thread: TrainingThread;
    backend: BackendName;
    skipped: string[];
  }> {
    const { options } = this;
    if (!this.thread?.alive) {
      this.thread = new TrainingThread({
        backend: options.backend,
        dataDir: options.dataDir,
        fetchData: options.fetchData,
        dataCheck: options.dataCheck,
        blockAfterBatchMs: options.blockAfterBatchMs,
      });
    }
    const thread = this.thread;
    return { thread, ...(await thread.ready) };
  }

  async run(): Promise<void> {
    const { options } = this;
    const { backend, skipped } = await this.trainingThread();
    options.log(`backend ${backend}${skipped.length ? `; skipped ${skipped.join("; ")}` : ""}`);
    const info: WorkerInfo = {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryGb: Math.round(os.totalmem() / 1e9),
      platform: `${os.platform()} ${os.arch()}`,
      node: process.version,
      skippedBackends: skipped
        .slice(0, SKIPPED_BACKENDS.count)
        .map((reason) => reason.slice(0, SKIPPED_BACKENDS.reasonLength)),
    };
    const worker = await retrying(
      () =>
        this.client.mutation(
          "worker.register",
          { name: options.name, host: os.hostname(), backend, info },
          workerRegisteredSchema,
        ),
      options.log,
      "registering",
      () => this.stopping,
    );
    options.log(`worker ${options.name} (#${worker.id}) on ${backend}, serving ${options.url}`);
    while (!this.stopping && !this.tokenRefused) {
      let run: ClaimedRun | null = null;
      try {
        run = await this.client.mutation(
          "worker.claim",
          { workerId: worker.id, leaseMs: options.leaseMs },
          claimedRunSchema,
        );
      } catch (error) {
        if (!isRetryable(error)) throw error;
        options.log(`server unreachable (${(error as Error).message}); retrying`);
      }
      if (run) await this.execute(worker.id, run, backend);
      else await sleep(options.pollMs);
    }
    this.thread?.kill();
    if (this.tokenRefused) throw new Error(this.tokenRefused);
  }

  private async execute(workerId: number, run: ClaimedRun, backend: string): Promise<void> {
    const { options, client } = this;
    const dir = path.join(options.stateDir, `run-${run.id}-attempt-${run.attempt}`);
    const checkpointDir = path.join(dir, "checkpoint");
    const outbox = new Outbox(
      path.join(dir, "outbox.jsonl"),
      (report) => client.mutation(report.procedure, report.input),
      (report, error) =>
        options.log(`run ${run.id}: the server refused ${report.procedure}: ${(error as Error).message}`),
    );
    const log = (
      message: string,
      level: "info" | "warn" | "error" = "info",
      time = new Date().toISOString(),
    ) => {
      options.log(`run ${run.id}: ${message}`);
      void outbox.push({
        procedure: "worker.log",
        input: { runId: run.id, lines: [{ level, message, time }] },
      });
    };
    const flush = () => void outbox.flush().catch(() => {});

    let stopReason: StopReason | null = null;
    let thread: TrainingThread | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const grace = options.stopGraceMs ?? 3_000;
    const stopWith = (reason: StopReason) => {
      if (stopReason) return;
      stopReason = reason;
      thread?.requestStop();
      // A step or an evaluation pass may outlast the grace: then the thread is ended, and the
      // run resumes from its last epoch's checkpoint.
      killTimer = setTimeout(() => {
        if (thread) {
          options.log(`run ${run.id}: the trainer did not stop within ${grace} ms; ending its thread`);
          void thread.kill();
        }
      }, grace);
    };
    this.stopRun = stopWith;
    if (this.stopping) stopWith("shutdown");

    let progress: BatchProgress | null = null;
    let pendingBatchPoints: MetricPointInput[] = [];
    const pushBatchPoints = async () => {
      if (!pendingBatchPoints.length) return;
      const points = pendingBatchPoints;
      pendingBatchPoints = [];
      await outbox.push({ procedure: "metric.log", input: { runId: run.id, points } });
    };
    const sendHeartbeat = () => {
      client
        .mutation(
          "worker.heartbeat",
          {
            workerId,
            runId: run.id,
            leaseMs: options.leaseMs,
            ...(progress && {
              progress: {
                epoch: progress.epoch,
                batch: progress.batch,
                batches: progress.batches,
                imagesPerSecond: progress.imagesPerSecond,
              },
            }),
          },
          heartbeatReplySchema,
        )
        .then((answer) => {
          if (answer.cancelRequested && !stopReason) {
            log("cancel requested; stopping");
            stopWith("cancel");
          }
        })
        .catch((error: unknown) => {
          if (!(error instanceof ApiError)) return; // an outage: keep training, the outbox keeps the reports
          if (error.status === 409) {
            // The lease went to another worker (this one was presumed dead).
            if (!stopReason) options.log(`run ${run.id}: lost the lease (${error.message}); stopping`);
            stopWith("lease-lost");
          } else if (error.status === 401 || error.status === 403) {
            this.tokenRefused = `the server refused this worker's token (${error.status}: ${error.message}); stopping`;
            options.log(this.tokenRefused);
            stopWith("token-refused");
          } else {
            options.log(`run ${run.id}: the server refused a heartbeat (${error.status}: ${error.message})`);
          }
        });
      void pushBatchPoints().then(flush);
    };
    // The first at once: the claim set the lease, and a cancel may already be waiting.
    sendHeartbeat();
    const beat = setInterval(sendHeartbeat, options.heartbeatMs);
    const sample = systemSampler();
    const checkpoints = new LatestUpload((bytes) =>
      client
        .upload(run.id, "checkpoint", "checkpoint", bytes)
        .catch((error: unknown) => log(`checkpoint upload failed: ${(error as Error).message}`, "warn")),
    );

    let finish: { status: "succeeded" | "failed" | "cancelled"; error?: string; modelEpoch?: number } | null =
      null;
    try {
      const config: Hyperparams = hyperparamsSchema.parse(run.config);
      log(`attempt ${run.attempt} on ${options.name} (${backend})`);
      if (!(await readCheckpointMeta(checkpointDir))) {
        const stored = await retrying(
          () => client.download(run.id, "checkpoint"),
          options.log,
          "fetching the checkpoint",
          () => stopReason !== null,
        );
        if (stored) await unpackCheckpoint(stored, checkpointDir);
      }
      const resumed = await readCheckpointMeta<EpochMetrics>(checkpointDir);
      if (resumed) {
        // Epochs the last attempt trained may not all have reached the server: send them again
        // (writes are idempotent, and each point keeps the time it was measured).
        log(`resuming after epoch ${resumed.epoch}`);
        for (const m of resumed.history)
          await outbox.push({
            procedure: "metric.log",
            input: { runId: run.id, points: epochPoints(m, {}) },
          });
        flush();
      }
      const trainer = await this.trainingThread();
      thread = trainer.thread;
      if (stopReason) thread.requestStop();
      let sentBatchesPerEpoch = false;
      const outcome = await thread.train(
        { config, checkpointDir, sendRunInfo: !resumed },
        {
          onLog: (message, level, time) => log(message, level, time),
          onBatch: (p) => {
            progress = p;
            if (!sentBatchesPerEpoch) {
              sentBatchesPerEpoch = true;
              pendingBatchPoints.push({ key: BATCH_METRIC_KEYS.batchesPerEpoch, step: 0, value: p.batches });
            }
            pendingBatchPoints.push(...batchPoints(p));
          },
          onRunInfo: async (files) => {
            for (const file of files)
              await client
                .upload(run.id, file.name, "other", Buffer.from(file.bytes), file.contentType)
                .catch((error: unknown) =>
                  log(`could not upload ${file.name}: ${(error as Error).message}`, "warn"),
                );
          },
          onEpoch: async (m, test, checkpoint) => {
            // Reports leave now; the checkpoint uploads beside them (the newest wins).
            await pushBatchPoints();
            await outbox.push({
              procedure: "metric.log",
              input: { runId: run.id, points: epochPoints(m, sample()) },
            });
            if (test)
              await outbox.push({
                procedure: "worker.evaluation",
                input: { workerId, runId: run.id, evaluation: { ...test, epoch: m.epoch } },
              });
            flush();
            if (checkpoint) checkpoints.offer(checkpoint);
          },
        },
      );
      clearTimeout(killTimer);
      await pushBatchPoints();
      if (outcome.type === "failed") throw new Error(outcome.error);
      const reason = stopReason as StopReason | null;
      if (reason === "lease-lost") {
        options.log(`run ${run.id}: another worker holds this run now; dropping this attempt`);
        return;
      }
      if (reason === "token-refused") return;
      if (reason === "shutdown" && outcome.type === "stopped") {
        // Hand the run back now rather than at lease expiry; the next worker resumes it from
        // the last epoch's checkpoint, and the attempt is not spent.
        await checkpoints.settled(5_000);
        await outbox.push({ procedure: "worker.release", input: { workerId, runId: run.id } });
        options.log(
          (await outbox.drainFully(3_000, 250))
            ? `run ${run.id}: worker stopping; handed the run back to the queue`
            : `run ${run.id}: worker stopping; the run returns to the queue when its lease expires`,
        );
        return;
      }
      if (outcome.type === "stopped") {
        finish = { status: "cancelled" };
      } else {
        const { weights, modelJson } = outcome;
        await retrying(
          () => client.upload(run.id, "weights.bin", "model", weights),
          options.log,
          "uploading weights",
          () => false,
        );
        await retrying(
          () => client.upload(run.id, "model.json", "model", modelJson, "application/json"),
          options.log,
          "uploading model.json",
          () => false,
        );
        if (outcome.test)
          await outbox.push({
            procedure: "worker.evaluation",
            input: { workerId, runId: run.id, evaluation: { ...outcome.test, epoch: 0 } },
          });
        finish = { status: "succeeded", modelEpoch: outcome.modelEpoch };
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`failed: ${message}`, "error");
      finish = { status: "failed", error: message };
    } finally {
      clearInterval(beat);
      clearTimeout(killTimer);
      this.stopRun = null;
      if (finish && stopReason !== "lease-lost" && stopReason !== "token-refused") {
        // The checkpoint (a stopped run may be resumed from it), then the end, after every report.
        await checkpoints.settled(60_000);
        await outbox.push({ procedure: "worker.finish", input: { workerId, runId: run.id, ...finish } });
        if (!(await outbox.drainFully(this.stopping ? 3_000 : 10 * 60_000)))
          options.log(`run ${run.id}: could not reach the server to report the end`);
        else options.log(`run ${run.id}: ${finish.status}`);
      }
    }
  }
}
