// `labbook train`: trains one config standalone. A progress bar per epoch on stderr, one JSON
// line per epoch and a final summary on stdout, artifacts in --out. Rerunning the same
// command with the same --out resumes from the last epoch's checkpoint.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Hyperparams, hyperparamsSchema } from "../shared/hyperparams";
import { describeIssue } from "../shared/zod-issues";
import { BACKENDS, type BackendName, selectBackend } from "./backend";
import { fetchProgressPrinter } from "./cli-progress";
import { loadCifar10 } from "./data/cifar10";
import { CLASS_NAMES } from "./data/cifar10-format";
import { fetchCifar10 } from "./data/fetch";
import { prepareData, takeFirst } from "./data/prepare";
import { modelMetadata, saveModel } from "./model/io";
import { layerSummary } from "./model/vgg";
import { lowerThreadPriority } from "./priority";
import { progressBar, StatusLine } from "./progress";
import { trainModel } from "./train";

export interface TrainCommandOptions {
  config?: string;
  out?: string;
  epochs?: string;
  "train-limit"?: string;
  "test-limit"?: string;
  backend?: string;
  dataDir: string;
  /** The data dir was given by the user (else it is the cache, fetched when missing). */
  dataDirGiven: boolean;
  /** Accept files in the official format that are not the official bytes (synthetic test data). */
  unverifiedData?: boolean;
}

class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a whole number ≥ 1, got "${value}"`);
  return n;
}

async function readConfig(file: string | undefined, overrides: Partial<Hyperparams>): Promise<Hyperparams> {
  let raw: unknown = {};
  if (file) {
    const text = await readFile(file, "utf8").catch(() => {
      throw new UsageError(`cannot read --config ${file}`);
    });
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const result = hyperparamsSchema.safeParse({ ...(raw as object), ...overrides });
  if (!result.success) {
    throw new UsageError(
      `invalid config ${file ?? ""}:\n  ${result.error.issues.map(describeIssue).join("\n  ")}`,
    );
  }
  return result.data;
}

const emit = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

export async function runTrainCommand(options: TrainCommandOptions): Promise<number> {
  try {
    return await train(options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`labbook train: ${error.message}`);
    return 2;
  }
}

async function train(options: TrainCommandOptions): Promise<number> {
  const epochs = positiveInt("epochs", options.epochs);
  const trainLimit = positiveInt("train-limit", options["train-limit"]);
  const testLimit = positiveInt("test-limit", options["test-limit"]);
  const backendName = options.backend ?? "auto";
  if (backendName !== "auto" && !BACKENDS.includes(backendName as BackendName)) {
    throw new UsageError(`--backend must be auto or one of ${BACKENDS.join(", ")}`);
  }
  const config = await readConfig(options.config, {
    ...(epochs ? { epochs } : {}),
    ...(trainLimit ? { trainLimit } : {}),
  });
  const out = path.resolve(
    options.out ?? path.join("labbook-runs", new Date().toISOString().replace(/[:.]/g, "-")),
  );
  await mkdir(out, { recursive: true });
  const status = new StatusLine();

  lowerThreadPriority();
  const backend = await selectBackend(backendName as BackendName | "auto");
  console.error(
    `backend: ${backend.name}${backend.skipped.length ? ` (skipped ${backend.skipped.join("; ")})` : ""}`,
  );

  if (!options.dataDirGiven && !options.unverifiedData)
    await fetchCifar10({ dir: options.dataDir, onProgress: fetchProgressPrinter(status) });
  const dataset = await loadCifar10(options.dataDir, {
    expect: options.unverifiedData ? "format" : "official",
  });
  if (testLimit) dataset.test = takeFirst(dataset.test, testLimit);
  const data = prepareData(dataset, config);
  console.error(
    `data: ${data.train.count} train / ${data.validation.count} validation / ${data.test.count} test images, ${config.normalization} normalisation`,
  );
  if (!existsSync(path.join(out, "config.json")))
    await writeFile(path.join(out, "config.json"), JSON.stringify(config, null, 2));

  let stop = false;
  const onSignal = () => {
    console.error("\nstopping after this batch (the last epoch's checkpoint is kept; run again to resume)");
    stop = true;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const result = await trainModel({
    config,
    data,
    backend: backend.name,
    checkpointDir: path.join(out, "checkpoint"),
    events: {
      shouldStop: () => stop,
      onLog: (message) => status.done(message),
      onBatch: (p) =>
        status.update(
          `epoch ${p.epoch}/${config.epochs} ${progressBar(p.batch / p.batches)} loss ${p.loss.toFixed(4)} acc ${p.accuracy.toFixed(4)} ${p.imagesPerSecond.toFixed(1)} img/s`,
        ),
      onEpoch: (m, { test }) => {
        if (test) emit({ type: "evaluation", epoch: m.epoch, loss: test.loss, accuracy: test.accuracy });
        status.done(
          `epoch ${m.epoch}/${config.epochs} loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(4)} val_loss ${m.valLoss.toFixed(4)} val_acc ${m.valAccuracy.toFixed(4)} lr ${m.lr} ${m.epochSeconds.toFixed(1)} s ${m.imagesPerSecond.toFixed(1)} img/s`,
        );
        emit({ type: "epoch", ...m });
      },
    },
  });
  if (result.cancelled) {
    emit({ type: "cancelled", epochsDone: result.history.length, out });
    return 130;
  }
  await saveModel(result.model, path.join(out, "model"), modelMetadata(data.normalizer, result.modelEpoch));
  const summary = layerSummary(result.model);
  const test = result.test;
  await writeFile(path.join(out, "history.json"), JSON.stringify(result.history, null, 2));
  await writeFile(path.join(out, "evaluation.json"), JSON.stringify({ classNames: CLASS_NAMES, ...test }));
  await writeFile(path.join(out, "layers.json"), JSON.stringify(summary, null, 2));
  const final = {
    type: "summary",
    backend: backend.name,
    epochs: result.history.length,
    resumedFrom: result.resumedFrom,
    modelEpoch: result.modelEpoch,
    stoppedEarly: result.stoppedEarly,
    bestValAccuracy: Math.max(...result.history.map((h) => h.valAccuracy)),
    bestValLoss: Math.min(...result.history.map((h) => h.valLoss)),
    testLoss: test?.loss ?? null,
    testAccuracy: test?.accuracy ?? null,
    params: summary.total,
    out,
  };
  await writeFile(path.join(out, "summary.json"), JSON.stringify(final, null, 2));
  emit(final);
  status.done(
    `test accuracy ${((test?.accuracy ?? 0) * 100).toFixed(2)}% (loss ${test?.loss.toFixed(4)}); artifacts in ${out}`,
  );
  return 0;
}
