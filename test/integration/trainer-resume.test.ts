// kill -9 during epoch 3, then the same command resumes from the checkpoint of epoch 2.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/labbook-cli";
import { writeSyntheticCifar } from "../helpers/synthetic-cifar";

const dataDir = writeSyntheticCifar(60);
const out = path.join(dataDir, "run");
const configFile = path.join(dataDir, "run.json");
writeFileSync(configFile, JSON.stringify({ batchSize: 16, validationSplit: 0.1, epochs: 5, seed: 3 }));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const args = [
  "train",
  "--config",
  configFile,
  "--data-dir",
  dataDir,
  "--unverified-data",
  "--train-limit",
  "96",
  "--out",
  out,
  "--backend",
  "wasm",
];
const epochsOf = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.type === "epoch").map((l) => l.epoch);

describe("labbook train, killed and resumed", () => {
  it("continues at epoch 3 with no gap or repeat", async () => {
    const first = runCli(args);
    await first.waitFor((line) => line.type === "epoch" && line.epoch === 2);
    // Epoch 3 takes seconds: kill inside it, without any chance to clean up.
    await new Promise((resolve) => setTimeout(resolve, 400));
    first.child.kill("SIGKILL");
    expect(await first.done).toBe("SIGKILL");
    expect(epochsOf(first.lines)).toEqual([1, 2]);

    const second = runCli(args);
    expect(await second.done, second.stderr()).toBe(0);
    expect(second.stderr()).toContain(`resumed after epoch 2`);
    expect(epochsOf(second.lines)).toEqual([3, 4, 5]);
    const summary = second.lines.at(-1) as Record<string, unknown>;
    expect(summary).toMatchObject({
      type: "summary",
      epochs: 5,
      resumedFrom: 2,
      backend: "wasm",
      params: 1_186_346,
    });

    const history = JSON.parse(readFileSync(path.join(out, "history.json"), "utf8")) as {
      epoch: number;
      lr: number;
    }[];
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    // The resumed epochs are the ones the first run would have reported next.
    const firstTwo = first.lines.filter((l) => l.type === "epoch");
    expect(history.slice(0, 2)).toEqual(firstTwo.map(({ type: _type, ...rest }) => rest));
    const evaluation = JSON.parse(readFileSync(path.join(out, "evaluation.json"), "utf8"));
    expect(evaluation.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(60);
  }, 240_000);

  it("a resumed one-cycle SGD run continues its schedule where it stopped", async () => {
    const config = path.join(dataDir, "one-cycle.json");
    writeFileSync(
      config,
      JSON.stringify({
        preset: "fast",
        optimizer: "sgd-nesterov",
        learningRate: 0.05,
        batchSize: 16,
        epochs: 4,
        seed: 3,
      }),
    );
    const run = (dir: string) =>
      runCli([
        ...args.slice(0, 2),
        config,
        ...args.slice(3, 9),
        path.join(dataDir, dir),
        "--backend",
        "wasm-libtorch",
      ]);
    const whole = run("whole");
    expect(await whole.done, whole.stderr()).toBe(0);
    const cut = run("cut");
    await cut.waitFor((line) => line.type === "epoch" && line.epoch === 2);
    cut.child.kill("SIGKILL");
    await cut.done;
    const resumed = run("cut");
    expect(await resumed.done, resumed.stderr()).toBe(0);
    expect(resumed.stderr()).toMatch(/resumed after epoch \d/);
    const lrs = (dir: string) =>
      (JSON.parse(readFileSync(path.join(dataDir, dir, "history.json"), "utf8")) as { lr: number }[]).map(
        (h) => h.lr,
      );
    // Warm-up, then the cosine down: each epoch's mean learning rate, as if never stopped.
    expect(lrs("cut")).toEqual(lrs("whole"));
    const [a = 0, b = 0, c = 0, d = 0] = lrs("whole");
    expect([a < b, b > c, c > d]).toEqual([true, true, true]);
  }, 240_000);

  it("stops within the epoch on Ctrl-C, keeping the last epoch's checkpoint", async () => {
    const run = runCli([
      ...args.slice(0, 6),
      "--train-limit",
      "480",
      "--out",
      path.join(dataDir, "interrupted"),
      ...args.slice(10),
    ]);
    await run.waitFor((line) => line.type === "epoch" && line.epoch === 1);
    run.child.kill("SIGINT");
    expect(await run.done, run.stderr()).toBe(130);
    expect(run.stderr()).toContain("stopping after this batch");
    // An epoch here is 17 batches: the signal is seen after the batch, not at the epoch's end.
    expect(epochsOf(run.lines)).toEqual([1]);
    expect(run.lines.at(-1)).toMatchObject({ type: "cancelled", epochsDone: 1 });
  }, 240_000);

  it("refuses an invalid config with the field and the rule", async () => {
    writeFileSync(configFile, JSON.stringify({ learningRate: -1, dropout: [0.2, 1.5, 0.4, 0.5] }));
    const run = runCli(["train", "--config", configFile, "--data-dir", dataDir, "--unverified-data"]);
    expect(await run.done).toBe(2);
    expect(run.stderr()).toContain("dropout[1] must be < 1");
    expect(run.stderr()).toContain("learningRate must be > 0");
  });
});
