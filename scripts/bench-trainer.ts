// Training and inference images/s of the seed model at batch 64 for every backend that loads
// here, side by side in one run, with stock wasm kernels as the baseline; plus two wasm runs
// at once (how two runs share a 2-core machine), and PyTorch on the same network at one and
// two threads, with the ratios and each process's peak RSS; a kernel-by-kernel profile of one
// step; and the server's prediction latency (p50, p95). Each measurement runs in its own
// process, since kernel registrations are global.
//
//   npx tsx scripts/bench-trainer.ts [--batches N] [--backends tensorflow,wasm-libtorch,wasm-openblas,wasm,wasm-stock,cpu] [--no-predict]
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { DEFAULT_HYPERPARAMS } from "../src/shared/hyperparams";
import { BACKENDS, type BackendName, selectBackend } from "../src/trainer/backend";
import { batchTensor } from "../src/trainer/batches";
import { sampleTransforms } from "../src/trainer/data/augment";
import type { ImageSet } from "../src/trainer/data/cifar10";
import { fitNormalizer } from "../src/trainer/data/prepare";
import { buildModel } from "../src/trainer/model/vgg";
import { Random } from "../src/trainer/random";
import { type Compiled, compile, trainBatch } from "../src/trainer/train";

const BATCH = 64;

interface Measurement {
  backend: string;
  ok: boolean;
  error?: string;
  trainImagesPerSecond?: number;
  inferImagesPerSecond?: number;
  /** The measuring process's peak resident memory (a training worker's footprint). */
  peakRssMb?: number;
  /** One profiled training step: wall time, and the kernels that took it (LABBOOK_BENCH_PROFILE=1). */
  profile?: { wallMs: number; kernels: { name: string; ms: number; calls: number }[] };
}

/** The backends with native kernels, which use LABBOOK_THREADS threads; the first is profiled. */
const NATIVE: BackendName[] = ["wasm-libtorch", "wasm-openblas"];

/**
 * Steps run before the clock starts, here and in the PyTorch script. The first few steps of both
 * are 10-25% slower (oneDNN builds its kernels for each shape, and the heaps grow); after them,
 * Labbook's steps keep getting faster for about 30 more (V8 optimises tfjs' JavaScript, and its
 * background compilations share the cores with the second thread): one thread 133 → 128 ms a
 * step, two threads 84 → 73 ms. An epoch is 704 steps, so every backend and PyTorch is timed
 * after 30, except those with wasm's own kernels (seconds a step), after 3.
 */
const WARM_UP = 30;
const SLOW_WARM_UP = 3;
const SLOW: BackendName[] = ["wasm", "wasm-stock", "cpu"];
const warmUpOf = (backend: BackendName) => (SLOW.includes(backend) ? SLOW_WARM_UP : WARM_UP);

/** One backend in this process: warm up, then time `batches` training steps and inferences. */
async function measure(backend: BackendName, batches: number): Promise<Measurement> {
  try {
    await selectBackend(backend);
  } catch (error) {
    return { backend, ok: false, error: (error as Error).message.replace(/\s*\n\s*/g, " ") };
  }
  const random = new Random(1);
  const images: ImageSet = {
    count: BATCH * 4,
    images: Uint8Array.from({ length: BATCH * 4 * 3072 }, () => random.int(256)),
    labels: Uint8Array.from({ length: BATCH * 4 }, () => random.int(10)),
  };
  const normalizer = fitNormalizer("zscore", images);
  const config = DEFAULT_HYPERPARAMS;
  const model = buildModel({ dropout: config.dropout, l2: config.l2, seed: 1 });
  const compiled = compile(model, config);
  const indices = (b: number) =>
    Uint32Array.from({ length: BATCH }, (_, i) => ((b * BATCH + i) % images.count) as number);
  const step = async (b: number) => {
    const ids = indices(b);
    const transforms = sampleTransforms(random, BATCH, config.augmentation);
    await trainBatch(compiled, {
      set: images,
      indices: ids,
      normalizer,
      augmentation: { transforms, params: config.augmentation },
    });
  };
  const warmUp = warmUpOf(backend);
  for (let b = 0; b < warmUp; b++) await step(b);
  let started = performance.now();
  for (let b = warmUp; b < warmUp + batches; b++) await step(b);
  const trainImagesPerSecond = (batches * BATCH) / ((performance.now() - started) / 1000);
  const profile =
    process.env.LABBOOK_BENCH_PROFILE === "1"
      ? await profileStep(compiled, () => step(warmUp + batches))
      : undefined;

  const x = batchTensor(images, indices(0), normalizer);
  for (let b = 0; b < warmUp; b++) (model.predict(x, { batchSize: BATCH }) as tf.Tensor).dispose();
  started = performance.now();
  for (let b = 0; b < batches; b++) {
    const out = model.predict(x, { batchSize: BATCH }) as tf.Tensor;
    await out.data();
    out.dispose();
  }
  const inferImagesPerSecond = (batches * BATCH) / ((performance.now() - started) / 1000);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  return { backend, ok: true, trainImagesPerSecond, inferImagesPerSecond, peakRssMb, profile };
}

/**
 * Where one training step's time goes, kernel by kernel: the native step times its own calls;
 * through tfjs, tf.profile times each kernel.
 */
async function profileStep(
  { nativeStep }: Compiled,
  step: () => Promise<void>,
): Promise<Measurement["profile"]> {
  const started = performance.now();
  const byName = new Map<string, { ms: number; calls: number }>();
  if (nativeStep) {
    nativeStep.profile = byName;
    await step();
    nativeStep.profile = null;
  } else {
    const info = await tf.profile(async () => {
      await step();
      return [];
    });
    for (const kernel of info.kernels) {
      const entry = byName.get(kernel.name) ?? { ms: 0, calls: 0 };
      entry.ms += Number(await kernel.kernelTimeMs);
      entry.calls += 1;
      byName.set(kernel.name, entry);
    }
  }
  const wallMs = performance.now() - started;
  const kernels = [...byName].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  return { wallMs, kernels };
}

/** Node's arguments to run one of these scripts through tsx. */
const tsxScript = (file: string, args: string[]) => [
  "--import",
  "tsx",
  path.resolve(import.meta.dirname, file),
  ...args,
];

/** Measures `backend` in a child process with `threads` native threads. */
function child(backend: BackendName, batches: number, threads = 1, profile = false): Promise<Measurement> {
  return new Promise((resolve) => {
    const proc = spawn(
      process.execPath,
      tsxScript("bench-trainer.ts", ["--one", backend, "--batches", String(batches)]),
      {
        stdio: ["ignore", "pipe", "inherit"],
        cwd: path.resolve(import.meta.dirname, ".."),
        env: {
          ...process.env,
          LABBOOK_THREADS: String(threads),
          // The per-kernel breakdown, for the one configuration worth reading it for.
          LABBOOK_BENCH_PROFILE: profile ? "1" : "0",
        },
      },
    );
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.on("exit", () => {
      const line = out.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(line) as Measurement);
      } catch {
        resolve({ backend, ok: false, error: `no result (${line.slice(0, 200)})` });
      }
    });
  });
}

interface TorchMeasurement {
  threads: number;
  trainImagesPerSecond: number;
  inferImagesPerSecond: number;
  peakRssMb: number;
}

/** scripts/reference/torch_throughput.py, or null where PyTorch is not installed. */
function torchThroughput(threads: number, batches: number): TorchMeasurement | null {
  const result = spawnSync(
    "/usr/bin/python3",
    [
      path.resolve(import.meta.dirname, "reference/torch_throughput.py"),
      "--threads",
      String(threads),
      "--batches",
      String(batches),
      "--warm-up",
      String(WARM_UP),
    ],
    { encoding: "utf8", timeout: 600_000 },
  );
  try {
    return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as TorchMeasurement;
  } catch {
    return null;
  }
}

const { values } = parseArgs({
  options: {
    one: { type: "string" },
    "no-predict": { type: "boolean" },
    batches: { type: "string", default: "20" },
    // cpu (plain JS) needs minutes per batch of this model: measure it only when asked.
    backends: {
      type: "string",
      default: "tensorflow-gpu,tensorflow,wasm-libtorch,wasm-openblas,wasm,wasm-stock",
    },
  },
});
const batches = Number(values.batches);

if (values.one) {
  process.stdout.write(`${JSON.stringify(await measure(values.one as BackendName, batches))}\n`);
  process.exit(0);
}

const names = (values.backends ?? "")
  .split(",")
  .filter((n): n is BackendName => BACKENDS.includes(n as BackendName));
console.log(
  `Seed model (1,186,346 params), batch ${BATCH}, augmentation on, ${batches} timed batches after ${WARM_UP} warm-up steps (${SLOW_WARM_UP} for the slow backends)`,
);
const results: (Measurement & { label: string })[] = [];
for (const name of names) {
  // The stock kernels and plain JS are an order of magnitude slower: time fewer batches.
  const n = name === "wasm-stock" || name === "cpu" ? Math.max(2, Math.ceil(batches / 4)) : batches;
  const profile = name === names.find((n) => NATIVE.includes(n));
  results.push({ ...(await child(name, n, 1, profile)), label: name });
  // Native kernels use every core for one run: measured beside one thread.
  if (NATIVE.includes(name)) results.push({ ...(await child(name, batches, 2)), label: `${name} ×2 thr` });
}
// PyTorch on the same network and threads (Debian's python3-torch), alternated with the first
// native backend: this VM's speed drifts by 10-40% over minutes, so each side is measured three
// times, interleaved, and its best is compared. Two threads suffer more from the drift (a stall
// of either core stalls the step): single runs of the same code, minutes apart, gave two threads
// 1.37-1.72× one thread on 2026-12-04.
const ROUNDS = 3;
const compared = NATIVE.find((name) => results.some((r) => r.label === name && r.ok));
const head2head = [1, 2].map((threads) => ({
  threads,
  ours: [] as Measurement[],
  torch: [] as TorchMeasurement[],
}));
for (let round = 0; compared && round < ROUNDS; round++)
  for (const side of head2head) {
    side.ours.push(await child(compared, batches, side.threads));
    const torch = torchThroughput(side.threads, batches);
    if (torch) side.torch.push(torch);
  }
// How two runs share this machine: one thread each, side by side.
const pairResults = [];
for (const name of ([...NATIVE, "wasm"] as const).filter((n) => names.includes(n)))
  pairResults.push({ name, runs: await Promise.all([child(name, batches), child(name, batches)]) });

const fmt = (v?: number) => (v === undefined ? "—" : v.toFixed(1));
const train = (label: string) => results.find((r) => r.label === label && r.ok)?.trainImagesPerSecond;
const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : "—");
console.log(
  `\n${"backend".padEnd(20)}${"train img/s".padStart(13)}${"infer img/s".padStart(13)}${"× stock".padStart(10)}${"× wasm".padStart(10)}${"peak RSS".padStart(11)}`,
);
for (const r of results) {
  if (!r.ok) {
    console.log(`${r.label.padEnd(20)}  not available: ${r.error}`);
    continue;
  }
  console.log(
    `${r.label.padEnd(20)}${fmt(r.trainImagesPerSecond).padStart(13)}${fmt(r.inferImagesPerSecond).padStart(13)}` +
      `${ratio(r.trainImagesPerSecond, train("wasm-stock")).padStart(10)}${ratio(r.trainImagesPerSecond, train("wasm")).padStart(10)}` +
      `${`${fmt(r.peakRssMb)} MB`.padStart(11)}`,
  );
}
for (const { name, runs } of pairResults) {
  const single = train(name);
  if (!single || !runs.every((r) => r.ok)) continue;
  const total = runs.reduce((sum, r) => sum + (r.trainImagesPerSecond ?? 0), 0);
  console.log(
    `two ${name} runs at once: ${runs.map((r) => fmt(r.trainImagesPerSecond)).join(" + ")} = ${fmt(total)} train img/s (${ratio(total, single)} one run)`,
  );
}

const bestOf = (runs: { trainImagesPerSecond?: number; inferImagesPerSecond?: number }[]) => ({
  train: Math.max(...runs.map((r) => r.trainImagesPerSecond ?? 0)),
  infer: Math.max(...runs.map((r) => r.inferImagesPerSecond ?? 0)),
});
if (!compared) console.log("\nPyTorch: no native backend to compare");
else if (head2head.some((side) => side.torch.length === 0))
  console.log("\nPyTorch: not measured (apt-get install python3-torch)");
else {
  console.log(
    `\nagainst PyTorch 1.13 (channels-last, augmentation off its critical path), best of ${ROUNDS} interleaved runs each:`,
  );
  const sides = head2head.map((side) => ({
    ...side,
    oursBest: bestOf(side.ours),
    torchBest: bestOf(side.torch),
  }));
  for (const { threads, oursBest, torchBest, torch } of sides) {
    const label = threads === 1 ? compared : `${compared} ×2 thr`;
    console.log(
      `${label.padEnd(22)} train ${fmt(oursBest.train)} vs ${fmt(torchBest.train)} img/s (${ratio(oursBest.train, torchBest.train)}), ` +
        `infer ${fmt(oursBest.infer)} vs ${fmt(torchBest.infer)} img/s (${ratio(oursBest.infer, torchBest.infer)}); ` +
        `PyTorch ${threads} thread${threads > 1 ? "s" : ""}, peak RSS ${fmt(Math.max(...torch.map((t) => t.peakRssMb)))} MB`,
    );
  }
  const [one, two] = sides as [(typeof sides)[number], (typeof sides)[number]];
  console.log(
    `two threads against one, one run: ${compared} ${ratio(two.oursBest.train, one.oursBest.train)}, ` +
      `PyTorch ${ratio(two.torchBest.train, one.torchBest.train)}`,
  );
}

const profiled = results.find((r) => r.profile);
if (profiled?.profile) {
  const { wallMs, kernels } = profiled.profile;
  const inKernels = kernels.reduce((sum, k) => sum + k.ms, 0);
  console.log(`\none profiled ${profiled.label} training step: ${fmt(wallMs)} ms (profiling adds a little)`);
  for (const k of kernels.slice(0, 14))
    console.log(
      `  ${k.name.padEnd(28)}${`${fmt(k.ms)} ms`.padStart(11)}${`${((100 * k.ms) / wallMs).toFixed(1)}%`.padStart(8)}  ×${k.calls}`,
    );
  console.log(
    `  ${"(other kernels)".padEnd(28)}${`${fmt(kernels.slice(14).reduce((s, k) => s + k.ms, 0))} ms`.padStart(11)}`,
  );
  console.log(
    `  ${"outside kernels (engine, JS)".padEnd(28)}${`${fmt(wallMs - inKernels)} ms`.padStart(11)}${`${((100 * (wallMs - inKernels)) / wallMs).toFixed(1)}%`.padStart(8)}`,
  );
}

// The server's prediction latency, p50 and p95 (scripts/bench-predict.ts, a server of its own).
if (!values["no-predict"]) {
  console.log("\nprediction latency through POST /api/models/<name>/predict:");
  const predict = spawnSync(
    process.execPath,
    tsxScript("bench-predict.ts", ["--small", "200", "--photos", "5"]),
    { encoding: "utf8", cwd: path.resolve(import.meta.dirname, "..") },
  );
  console.log(
    predict.stdout
      .split("\n")
      .filter((line) => line.startsWith("|"))
      .join("\n") || predict.stderr,
  );
}
