// How long storing a checkpoint and a test evaluation blocks the server's event loop, through
// Prisma against the pg paths Labbook uses (storeArtifact, storeEvaluation), side by side on one
// throwaway cluster. A blocked event loop delays every request, workers' heartbeats included.
//
//   npx tsx scripts/bench-event-loop.ts [--repeats 5]
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createDb } from "../src/server/db/client";
import { startEmbeddedPostgres } from "../src/server/db/embedded-postgres";
import { applyMigrations } from "../src/server/db/migrate";
import { storeArtifact } from "../src/server/services/artifacts";
import { storeEvaluation } from "../src/server/services/evaluations";

const { values } = parseArgs({ options: { repeats: { type: "string", default: "5" } } });
const repeats = Number(values.repeats);
const dir = mkdtempSync(path.join(tmpdir(), "labbook-bench-loop-"));
chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "pg") });
await applyMigrations(cluster.url);
const db = createDb(cluster.url);

/** Wall time of `work` and the longest the event loop went without a turn meanwhile. */
async function measure(work: () => Promise<unknown>): Promise<{ ms: number; stallMs: number }> {
  let stall = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last - 5);
    last = now;
  }, 5);
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(timer);
  return { ms, stallMs: stall };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

try {
  const experiment = await db.experiment.create({ data: { name: "bench" } });
  // Held by a local worker, as a claimed run is: only its worker stores its checkpoints.
  const worker = await db.worker.create({ data: { name: "bench", host: "bench", backend: "bench" } });
  const run = await db.run.create({
    data: {
      status: "running",
      workerId: worker.id,
      experimentId: experiment.id,
      name: "bench",
      groupKey: "bench",
      config: {},
      normalization: "zscore",
      learningRate: 5e-4,
      batchSize: 64,
      epochs: 1,
      seed: 1,
      dropout: [0.2, 0.3, 0.4, 0.5],
      l2: 1e-4,
      augmentation: true,
      lrPlateauPatience: 10,
      lrPlateauFactor: 0.5,
      lrPlateauMin: 1e-5,
      earlyStoppingPatience: 40,
    },
  });
  // A checkpoint of the seed model (weights, Adam's two moments, best weights: about 19 MB).
  const checkpoint = Buffer.alloc(4 * 1_186_346 * 4, 7);
  const { createHash } = await import("node:crypto");
  const sha256 = createHash("sha256").update(checkpoint).digest("hex");
  // A test evaluation early in training: about 4,500 misclassified images with probabilities.
  const evaluation = {
    split: "test",
    epoch: 0,
    count: 10_000,
    loss: 1.2,
    accuracy: 0.55,
    confusionMatrix: Array.from({ length: 10 }, () => Array.from({ length: 10 }, () => 100)),
    perClass: Array.from({ length: 10 }, (_, c) => ({
      class: c,
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
      support: 1000,
    })),
    misclassified: Array.from({ length: 4_500 }, (_, i) => ({
      index: i,
      label: i % 10,
      predicted: (i + 1) % 10,
      probabilities: Array.from({ length: 10 }, (_, k) => Math.round(((i * 7 + k * 13) % 100) * 100) / 1e4),
    })),
  };
  const { split, epoch, count: _count, ...fields } = evaluation;

  const cases: [string, () => Promise<unknown>][] = [
    [
      "checkpoint 19 MB, Prisma",
      () =>
        db.artifact.upsert({
          where: { runId_name: { runId: run.id, name: "prisma-checkpoint" } },
          create: {
            runId: run.id,
            name: "prisma-checkpoint",
            kind: "checkpoint",
            contentType: "application/octet-stream",
            size: checkpoint.length,
            sha256,
            data: new Uint8Array(checkpoint),
          },
          update: { data: new Uint8Array(checkpoint) },
        }),
    ],
    [
      "checkpoint 19 MB, pg (storeArtifact)",
      () =>
        storeArtifact(db, {
          runId: run.id,
          name: "checkpoint",
          kind: "checkpoint",
          contentType: "application/octet-stream",
          bytes: checkpoint,
          sha256,
          tokenId: null,
        }),
    ],
    [
      "evaluation 4,500 misclassified, Prisma",
      () =>
        db.evaluation.upsert({
          where: { runId_split_epoch: { runId: run.id, split: "prisma", epoch } },
          create: { runId: run.id, split: "prisma", epoch, ...fields },
          update: fields,
        }),
    ],
    ["evaluation 4,500 misclassified, pg (storeEvaluation)", () => storeEvaluation(db, run.id, evaluation)],
  ];
  const results = new Map<string, { ms: number; stallMs: number }>();
  for (const [name, work] of cases) {
    await work(); // warm-up
    const runs = [];
    for (let i = 0; i < repeats; i++) runs.push(await measure(work));
    results.set(name, { ms: median(runs.map((r) => r.ms)), stallMs: median(runs.map((r) => r.stallMs)) });
  }
  console.log(`median of ${repeats}; split "${split}" evaluations of ${evaluation.count} images\n`);
  console.log("| write | wall ms | longest event-loop stall ms |\n|---|---|---|");
  for (const [name, r] of results) console.log(`| ${name} | ${r.ms.toFixed(0)} | ${r.stallMs.toFixed(0)} |`);
  const ratio = (a: string, b: string) =>
    ((results.get(a)?.stallMs ?? 0) / Math.max(1, results.get(b)?.stallMs ?? 0)).toFixed(0);
  console.log(
    `\nstall, Prisma / pg: checkpoint ${ratio("checkpoint 19 MB, Prisma", "checkpoint 19 MB, pg (storeArtifact)")}×, evaluation ${ratio("evaluation 4,500 misclassified, Prisma", "evaluation 4,500 misclassified, pg (storeEvaluation)")}× (pg stalls under 1 ms count as 1)`,
  );
} finally {
  await db.$disconnect();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
