// Training on the real CIFAR-10 bytes (fetched and sha256-verified, as `labbook data fetch` does).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkCifar10 } from "@/trainer/data/cifar10";
import { defaultDataDir } from "@/trainer/data/cifar10-format";
import { fetchCifar10 } from "@/trainer/data/fetch";
import { loadModel } from "@/trainer/model/io";
import { runCli } from "../helpers/labbook-cli";

const work = mkdtempSync(path.join(tmpdir(), "labbook-cifar-run-"));
let dataDir: string;
beforeAll(async () => {
  dataDir = await fetchCifar10({ dir: defaultDataDir() });
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("real CIFAR-10", () => {
  it("has the six official files with the official sha256", async () => {
    await expect(checkCifar10(dataDir)).resolves.toBeUndefined();
  });

  it("trains the seed model: loss falls, artifacts load back and evaluate the test images", async () => {
    const config = path.join(work, "run.json");
    writeFileSync(
      config,
      JSON.stringify({ normalization: "zscore", validationSplit: 0.02, augmentation: { enabled: false } }),
    );
    const out = path.join(work, "out");
    const run = runCli([
      "train",
      "--config",
      config,
      "--data-dir",
      dataDir,
      "--train-limit",
      "1024",
      "--epochs",
      "2",
      "--test-limit",
      "300",
      "--out",
      out,
    ]);
    expect(await run.done, run.stderr()).toBe(0);
    const epochs = run.lines.filter((l) => l.type === "epoch") as { loss: number; accuracy: number }[];
    expect(epochs).toHaveLength(2);
    expect(epochs[1]?.loss).toBeLessThan(epochs[0]?.loss as number);
    expect(epochs[1]?.accuracy).toBeGreaterThan(0.15); // chance is 0.10
    const summary = run.lines.at(-1);
    expect(summary).toMatchObject({ type: "summary", epochs: 2, params: 1_186_346 });

    const evaluation = JSON.parse(readFileSync(path.join(out, "evaluation.json"), "utf8"));
    expect(evaluation.classNames[0]).toBe("airplane");
    expect(evaluation.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(300);
    expect(evaluation.perClass).toHaveLength(10);
    expect(evaluation.misclassified.length).toBe(300 - Math.round(evaluation.accuracy * 300));

    await tf.setBackend("cpu");
    const model = await loadModel(path.join(out, "model"));
    expect(model.countParams()).toBe(1_186_346);
    expect((model.predict(tf.zeros([1, 32, 32, 3])) as tf.Tensor).shape).toEqual([1, 10]);
  }, 600_000);
});
