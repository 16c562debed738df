// A trainer worker: registers with a Labbook server, claims queued runs, trains them and
// reports every epoch, like a ClearML or W&B Launch agent. It needs only the server's URL and
// a token, so it can run on another machine (a GPU box).
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { type Hyperparams, hyperparamsSchema } from "../../shared/hyperparams";
import { EPOCH_METRIC_KEYS, type MetricPointInput } from "../../shared/metrics";
import { type BackendName, selectBackend } from "../backend";
import { packCheckpoint, readCheckpoint, unpackCheckpoint } from "../checkpoint";
import { type Cifar10, loadCifar10 } from "../data/cifar10";
import { fetchCifar10 } from "../data/fetch";
import { type PreparedData, prepareData } from "../data/prepare";
import { renderAugmentationPreview } from "../data/preview";
import { modelMetadata, serializeModel } from "../model/io";
import { layerSummary } from "../model/vgg";
import { type BatchProgress, type EpochMetrics, trainModel } from "../train";
import { ApiError, isRetryable, LabbookClient } from "./client";
import { Outbox } from "./outbox";

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
  log: (message: string) => void;
}

interface ClaimedRun {
  id: number;
  attempt: number;
  config: unknown;
}

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
  return [
    { key: k.loss, step: m.epoch, value: m.loss },
    { key: k.accuracy, step: m.epoch, value: m.accuracy },
    { key: k.valLoss, step: m.epoch, value: m.valLoss },
    { key: k.valAccuracy, step: m.epoch, value: m.valAccuracy },
    { key: k.lr, step: m.epoch, value: m.lr },
    { key: k.epochSeconds, step: m.epoch, value: m.epochSeconds },
    { key: k.imagesPerSecond, step: m.epoch, value: m.imagesPerSecond },
    ...Object.entries(system).map(([key, value]) => ({ key: `sys/${key}`, step: m.epoch, value })),
  ];
}

/** Process CPU % since the previous call, and memory, for the run's system charts. */
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

export class Worker {
  private readonly client: LabbookClient;
  private stopping = false;
  private dataset: Promise<Cifar10> | null = null;

  constructor(private readonly options: WorkerOptions) {
    this.client = new LabbookClient(options.url, options.token);
  }

  /** Finishes the current batch, leaves the run to its lease (another worker resumes it) and exits. */
  stop(): void {
    this.stopping = true;
  }

  async run(): Promise<void> {
    const { options } = this;
    const backend = await selectBackend(options.backend);
    const info = {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryGb: Math.round(os.totalmem() / 1e9),
      platform: `${os.platform()} ${os.arch()}`,
      node: process.version,
      skippedBackends: backend.skipped,
    };
    const worker = await retrying(
      () =>
        this.client.mutation<{ id: number }>("worker.register", {
          name: options.name,
          host: os.hostname(),
          backend: backend.name,
          info,
        }),
      options.log,
      "registering",
      () => this.stopping,
    );
    options.log(`worker ${options.name} (#${worker.id}) on ${backend.name}, serving ${options.url}`);
    while (!this.stopping) {
      let run: ClaimedRun | null = null;
      try {
        run = await this.client.mutation<ClaimedRun | null>("worker.claim", {
          workerId: worker.id,
          leaseMs: options.leaseMs,
        });
      } catch (error) {
        if (!isRetryable(error)) throw error;
        options.log(`server unreachable (${(error as Error).message}); retrying`);
      }
      if (run) await this.execute(worker.id, run, backend.name);
      else await sleep(options.pollMs);
    }
  }

  private loadData(): Promise<Cifar10> {
    const { options } = this;
    this.dataset ??= (async () => {
      if (options.fetchData) await fetchCifar10({ dir: options.dataDir });
      return loadCifar10(options.dataDir, { expect: options.dataCheck });
    })();
    return this.dataset;
  }

  /**
   * What the run page shows before the first epoch ends: the layer summary, the data the run
   * trains on, and an augmentation preview. Best effort: a failed upload is logged, not fatal.
   */
  private async uploadRunInfo(
    runId: number,
    model: tf.LayersModel,
    config: Hyperparams,
    data: PreparedData,
    log: (message: string, level?: "warn") => void,
  ): Promise<void> {
    const layers = layerSummary(model);
    const dataset = {
      train: data.train.count,
      validation: data.validation.count,
      test: data.test.count,
      normalization: data.normalizer.kind,
      mean: data.normalizer.mean,
      std: data.normalizer.std,
    };
    const preview = await renderAugmentationPreview(data.train, {
      indices: Array.from({ length: Math.min(6, data.train.count) }, (_, i) => i),
      variants: 7,
      params: config.augmentation,
      seed: config.seed,
    });
    const uploads: [string, Buffer, string][] = [
      ["layers.json", Buffer.from(JSON.stringify(layers)), "application/json"],
      ["dataset.json", Buffer.from(JSON.stringify(dataset)), "application/json"],
      ["augmentation-preview.png", preview, "image/png"],
    ];
    for (const [name, bytes, type] of uploads)
      await this.client
        .upload(runId, name, "other", bytes, type)
        .catch((error: unknown) => log(`could not upload ${name}: ${(error as Error).message}`, "warn"));
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
    const log = (message: string, level: "info" | "warn" | "error" = "info") => {
      options.log(`run ${run.id}: ${message}`);
      void outbox.push({
        procedure: "worker.log",
        input: { runId: run.id, lines: [{ level, message, time: new Date().toISOString() }] },
      });
    };
    let cancelRequested = false;
    let leaseLost = false;
    let progress: BatchProgress | null = null;
    const beat = setInterval(() => {
      client
        .mutation<{ cancelRequested: boolean }>("worker.heartbeat", {
          workerId,
          runId: run.id,
          leaseMs: options.leaseMs,
          progress: progress && {
            epoch: progress.epoch,
            batch: progress.batch,
            batches: progress.batches,
            imagesPerSecond: progress.imagesPerSecond,
          },
        })
        .then((answer) => {
          if (answer.cancelRequested && !cancelRequested) log("cancel requested; stopping after this batch");
          cancelRequested ||= answer.cancelRequested;
        })
        .catch((error: unknown) => {
          // 409: the lease went to another worker (this one was presumed dead). Anything else
          // is an outage: keep training, the outbox keeps the reports.
          if (error instanceof ApiError && error.status === 409) leaseLost = true;
        });
      void outbox.flush().catch(() => {});
    }, options.heartbeatMs);
    const sample = systemSampler();

    let finish: { status: "succeeded" | "failed" | "cancelled"; error?: string } | null = null;
    try {
      const config: Hyperparams = hyperparamsSchema.parse(run.config);
      log(`attempt ${run.attempt} on ${options.name} (${backend})`);
      if (!existsSync(path.join(checkpointDir, "checkpoint.json"))) {
        const stored = await retrying(
          () => client.download(run.id, "checkpoint"),
          options.log,
          "fetching the checkpoint",
          () => false,
        );
        if (stored) await unpackCheckpoint(stored, checkpointDir);
      }
      const resumed = await readCheckpoint<EpochMetrics>(checkpointDir).catch(() => null);
      if (resumed) {
        // Epochs the last attempt trained may not all have reached the server: send them again
        // (writes are idempotent), so the history has no gap.
        log(`resuming after epoch ${resumed.meta.epoch}`);
        for (const m of resumed.meta.history)
          await outbox.push({
            procedure: "metric.log",
            input: { runId: run.id, points: epochPoints(m, {}) },
          });
      }
      const data = prepareData(await this.loadData(), config);
      const result = await trainModel({
        config,
        data,
        backend,
        checkpointDir,
        events: {
          onLog: (message) => log(message),
          onStart: async (model, { resumedFrom }) => {
            if (resumedFrom === 0) await this.uploadRunInfo(run.id, model, config, data, log);
          },
          onBatch: (p) => {
            progress = p;
          },
          shouldStop: () => cancelRequested || leaseLost || this.stopping,
          onEpoch: async (m, { test }) => {
            // The checkpoint first: an epoch the server shows can then be resumed from. The
            // latest replaces the previous one; a failed upload is made good by the next epoch's.
            const packed = await packCheckpoint(checkpointDir);
            if (packed)
              await client
                .upload(run.id, "checkpoint", "checkpoint", packed)
                .catch((error: unknown) =>
                  log(`checkpoint upload failed: ${(error as Error).message}`, "warn"),
                );
            await outbox.push({
              procedure: "metric.log",
              input: { runId: run.id, points: epochPoints(m, sample()) },
            });
            if (test)
              await outbox.push({
                procedure: "worker.evaluation",
                input: { workerId, runId: run.id, evaluation: { ...test, epoch: m.epoch } },
              });
            void outbox.flush().catch(() => {});
          },
        },
      });
      if (leaseLost) {
        options.log(`run ${run.id}: another worker holds this run now; dropping this attempt`);
        return;
      }
      if (this.stopping && !cancelRequested) {
        // Hand the run back now, after its reports, rather than at lease expiry; the next
        // worker resumes it from the last epoch's checkpoint, and the attempt is not spent.
        await outbox.push({ procedure: "worker.release", input: { workerId, runId: run.id } });
        options.log(
          (await outbox.drainFully(10_000))
            ? `run ${run.id}: worker stopping; handed the run back to the queue`
            : `run ${run.id}: worker stopping; the run returns to the queue when its lease expires`,
        );
        result.model.dispose();
        return;
      }
      if (result.cancelled) {
        finish = { status: "cancelled" };
      } else {
        const { modelJson, weights } = await serializeModel(result.model, modelMetadata(data.normalizer));
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
        if (result.test)
          await outbox.push({
            procedure: "worker.evaluation",
            input: { workerId, runId: run.id, evaluation: { ...result.test, epoch: 0 } },
          });
        finish = { status: "succeeded" };
      }
      result.model.dispose();
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      log(`failed: ${message}`, "error");
      finish = { status: "failed", error: message };
    } finally {
      clearInterval(beat);
      if (finish && !leaseLost) {
        // The finish goes last, after every report of the run.
        await outbox.push({ procedure: "worker.finish", input: { workerId, runId: run.id, ...finish } });
        if (!(await outbox.drainFully(10 * 60_000)))
          options.log(`run ${run.id}: could not reach the server to report the end`);
        else options.log(`run ${run.id}: ${finish.status}`);
      }
    }
  }
}
