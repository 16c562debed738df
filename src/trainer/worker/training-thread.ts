// The training thread of a worker: selects the backend, loads CIFAR-10 once, and trains the
// runs the control thread hands it, posting every batch, epoch and log line back. It reads
// the stop flag from shared memory, so a stop never waits for its event loop to turn.
import { parentPort, workerData } from "node:worker_threads";
import { type Hyperparams, hyperparamsSchema } from "../../shared/hyperparams";
import { selectBackend } from "../backend";
import { packCheckpoint } from "../checkpoint-file";
import { type Cifar10, loadCifar10 } from "../data/cifar10";
import { fetchCifar10 } from "../data/fetch";
import { type PreparedData, prepareData } from "../data/prepare";
import { renderAugmentationPreview } from "../data/preview";
import { modelMetadata, serializeModel } from "../model/io";
import { layerSummary } from "../model/vgg";
import { lowerThreadPriority } from "../priority";
import { trainModel } from "../train";
import {
  type FromTrainingThread,
  type RunFile,
  STOP_FLAG,
  type ToTrainingThread,
  type TrainingThreadOptions,
  type TrainJob,
} from "./training-protocol";

const port = parentPort;
if (!port) throw new Error("training-thread.ts runs as a worker thread");
const options = (workerData as { options: TrainingThreadOptions }).options;
const control = new Int32Array(options.control);
const post = (message: FromTrainingThread) => port.postMessage(message);
const log = (message: string, level: "info" | "warn" | "error" = "info") =>
  post({ type: "log", message, level, time: new Date().toISOString() });

let dataset: Promise<Cifar10> | null = null;
function loadData(): Promise<Cifar10> {
  dataset ??= (async () => {
    if (options.fetchData) await fetchCifar10({ dir: options.dataDir });
    return loadCifar10(options.dataDir, { expect: options.dataCheck });
  })();
  // A failed load (missing files) is retried by the next run rather than remembered.
  dataset.catch(() => {
    dataset = null;
  });
  return dataset;
}

/** What the run page shows before the first epoch ends. */
async function runInfo(model: Parameters<typeof layerSummary>[0], data: PreparedData, config: Hyperparams) {
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
    normalizer: data.normalizer,
  });
  const files: RunFile[] = [
    {
      name: "layers.json",
      bytes: Buffer.from(JSON.stringify(layerSummary(model))),
      contentType: "application/json",
    },
    { name: "dataset.json", bytes: Buffer.from(JSON.stringify(dataset)), contentType: "application/json" },
    { name: "augmentation-preview.png", bytes: preview, contentType: "image/png" },
  ];
  post({ type: "runInfo", files });
}

async function train(job: TrainJob, backend: string): Promise<void> {
  try {
    const config = hyperparamsSchema.parse(job.config);
    const data = prepareData(await loadData(), config);
    const result = await trainModel({
      config,
      data,
      backend,
      checkpointDir: job.checkpointDir,
      blockAfterBatchMs: options.blockAfterBatchMs,
      events: {
        onLog: (message) => log(message),
        onStart: async (model, { resumedFrom }) => {
          if (job.sendRunInfo && resumedFrom === 0)
            await runInfo(model, data, config).catch((error: unknown) =>
              log(`could not render the run's info: ${(error as Error).message}`, "warn"),
            );
        },
        onBatch: (progress) => post({ type: "batch", progress }),
        shouldStop: () => Atomics.load(control, STOP_FLAG) !== 0,
        onEpoch: async (metrics, { test }) => {
          post({ type: "epoch", metrics, test, checkpoint: await packCheckpoint(job.checkpointDir) });
        },
      },
    });
    if (result.cancelled) {
      result.model.dispose();
      post({ type: "stopped" });
      return;
    }
    const { modelJson, weights } = await serializeModel(
      result.model,
      modelMetadata(data.normalizer, result.modelEpoch),
    );
    result.model.dispose();
    post({ type: "finished", modelJson, weights, test: result.test, modelEpoch: result.modelEpoch });
  } catch (error) {
    post({
      type: "failed",
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

try {
  lowerThreadPriority();
  const backend = await selectBackend(options.backend);
  post({ type: "ready", backend: backend.name, skipped: backend.skipped });
  port.on("message", (message: ToTrainingThread) => {
    if (message.type === "train") void train(message.job, backend.name);
  });
} catch (error) {
  post({ type: "startFailed", error: (error as Error).message });
}
