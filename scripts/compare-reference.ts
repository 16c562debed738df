// Trains the seed recipe with Labbook's trainer and with an independent PyTorch implementation
// (scripts/reference/seed_recipe.py, Debian's python3-torch) side by side, one thread each,
// on the real CIFAR-10, and prints their curves epoch by epoch.
//
//   npx tsx scripts/compare-reference.ts [--epochs 3] [--normalization zscore|sfs] [--train-limit N]
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    epochs: { type: "string", default: "3" },
    normalization: { type: "string", default: "zscore" },
    "train-limit": { type: "string" },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});
if (!["zscore", "sfs"].includes(values.normalization ?? ""))
  throw new Error("--normalization must be zscore or sfs");

type Line = Record<string, number | string | boolean | null>;

/** Runs a command, collecting the JSON lines it prints; stderr goes to the terminal. */
function jsonLines(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${command} ${args.join(" ")} exited with ${code}`));
      resolve(
        out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Line),
      );
    });
  });
}

const dir = await mkdtemp(path.join(os.tmpdir(), "labbook-reference-"));
const config = path.join(dir, "run.json");
await writeFile(config, JSON.stringify({ normalization: values.normalization }));
const limit = values["train-limit"] ? ["--train-limit", values["train-limit"]] : [];
console.error(`Training ${values.epochs} epochs with both (${values.normalization}); this takes a while…`);
const [labbook, reference] = await Promise.all([
  jsonLines(
    path.join(ROOT, "bin", "labbook"),
    ["train", "--config", config, "--out", path.join(dir, "out"), "--epochs", values.epochs ?? "3", ...limit],
    // One thread at normal priority, as PyTorch's: `labbook train` would take every core at a lower priority.
    { ...process.env, LABBOOK_THREADS: "1", LABBOOK_TRAINING_NICE: "0" },
  ),
  jsonLines(values.python ?? "python3", [
    path.join(ROOT, "scripts", "reference", "seed_recipe.py"),
    "--epochs",
    values.epochs ?? "3",
    "--normalization",
    values.normalization ?? "zscore",
    "--threads",
    "1",
    ...limit,
  ]),
]);
await rm(dir, { recursive: true, force: true });

const ours = labbook.filter((l) => l.type === "epoch");
const theirs = reference.filter((l) => typeof l.epoch === "number");
const pct = (v: unknown) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "—");
const num = (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "—");
console.log("\nepoch  train acc (labbook / torch)  val acc (labbook / torch)  val loss (labbook / torch)");
for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
  const a = ours[i] ?? {};
  const b = theirs[i] ?? {};
  console.log(
    `${String(i + 1).padStart(5)}  ${`${pct(a.accuracy)} / ${pct(b.accuracy)}`.padEnd(29)}${`${pct(a.valAccuracy)} / ${pct(b.valAccuracy)}`.padEnd(27)}${num(a.valLoss)} / ${num(b.valLoss)}`,
  );
}
const summary = labbook.find((l) => l.type === "summary");
const refSummary = reference.find((l) => l.summary === true);
console.log(
  `test accuracy: labbook ${pct(summary?.testAccuracy)} (${summary?.backend}, weights of epoch ${summary?.modelEpoch}), torch ${pct(refSummary?.testAccuracy)} (${refSummary?.torch}, weights of epoch ${refSummary?.modelEpoch})`,
);
