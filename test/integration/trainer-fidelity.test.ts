// The exported model of a 6-epoch run with patience 2: which epoch's weights it holds, with and
// without "always restore the best epoch", and its val_loss recomputed from the saved file as
// Keras computes it (cross-entropy plus 1e-4 · Σ‖W‖² over the conv kernels).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hyperparamsSchema } from "@/shared/hyperparams";
import { selectBackend } from "@/trainer/backend";
import { batchTensor } from "@/trainer/batches";
import { loadCifar10 } from "@/trainer/data/cifar10";
import { prepareData } from "@/trainer/data/prepare";
import { loadModel } from "@/trainer/model/io";
import { logitsModel } from "@/trainer/model/vgg";
import { runCli } from "../helpers/labbook-cli";
import { writeSyntheticCifar } from "../helpers/synthetic-cifar";

const dataDir = writeSyntheticCifar(60);
const work = mkdtempSync(path.join(tmpdir(), "labbook-fidelity-"));
beforeAll(async () => {
  await selectBackend("cpu");
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

async function train(name: string, restoreBestAlways: boolean) {
  const config = {
    batchSize: 16,
    validationSplit: 0.1,
    epochs: 6,
    seed: 5,
    learningRate: 0.02,
    earlyStopping: { patience: 2, restoreBestAlways },
    augmentation: { enabled: false },
  };
  const file = path.join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const out = path.join(work, name);
  const run = runCli([
    "train",
    "--config",
    file,
    "--data-dir",
    dataDir,
    "--unverified-data",
    "--train-limit",
    "96",
    "--out",
    out,
    "--backend",
    "wasm",
  ]);
  expect(await run.done, run.stderr()).toBe(0);
  const history = JSON.parse(readFileSync(path.join(out, "history.json"), "utf8")) as {
    epoch: number;
    valLoss: number;
    valCrossEntropy: number;
  }[];
  const summary = run.lines.at(-1) as { modelEpoch: number; stoppedEarly: boolean };
  const modelJson = JSON.parse(readFileSync(path.join(out, "model", "model.json"), "utf8"));
  // The run's own config: it holds the --train-limit its normaliser was fitted with.
  const runConfig = hyperparamsSchema.parse(JSON.parse(readFileSync(path.join(out, "config.json"), "utf8")));
  expect(runConfig.trainLimit).toBe(96);
  return { config: runConfig, out, history, summary, modelJson };
}

/** val_loss of the saved model on the run's validation images, recomputed outside the trainer. */
async function recomputedValLoss(out: string, config: ReturnType<typeof hyperparamsSchema.parse>) {
  const model = await loadModel(path.join(out, "model"));
  const data = prepareData(await loadCifar10(dataDir, { expect: "format" }), config);
  const { validation, normalizer } = data;
  const x = batchTensor(
    validation,
    Array.from({ length: validation.count }, (_, i) => i),
    normalizer,
  );
  // From the logits, as Keras takes the loss of a softmax output: unclipped, so a confidently
  // wrong prediction costs its full log-probability.
  const logits = logitsModel(model).predict(x) as tf.Tensor2D;
  const crossEntropy = tf.tidy(() => {
    const labels = tf.tensor1d(Array.from(validation.labels), "int32");
    const picked = logits.mul(tf.oneHot(labels, 10)).sum(1);
    return tf.logSumExp(logits, 1).sub(picked).mean().dataSync()[0] as number;
  });
  tf.dispose([x, logits]);
  let squares = 0;
  for (const layer of model.layers.filter((l) => l.getClassName() === "Conv2D"))
    squares += tf.tidy(() => layer.getWeights()[0]?.square().sum().dataSync()[0] as number);
  return crossEntropy + config.l2 * squares;
}

describe("the exported model", () => {
  for (const always of [false, true]) {
    it(`${always ? "always restores" : "restores as Keras 2 does"}: its epoch is recorded, and its val_loss includes L2`, async () => {
      const { config, out, history, summary, modelJson } = await train(always ? "always" : "keras", always);
      const losses = history.map((h) => h.valLoss);
      const best = losses.indexOf(Math.min(...losses)) + 1;
      const last = history.length;
      const expected = always || summary.stoppedEarly ? best : last;
      expect(summary.modelEpoch).toBe(expected);
      expect(modelJson.userDefinedMetadata.labbook.epoch).toBe(expected);
      // val_loss = cross-entropy + L2 penalty, and the saved weights are that epoch's.
      for (const h of history) expect(h.valLoss).toBeGreaterThan(h.valCrossEntropy);
      const recomputed = await recomputedValLoss(out, config);
      // Relative: a tiny synthetic run's validation loss can be huge (BatchNorm's moving
      // statistics are barely warmed up), and both sides sum in float32.
      const reported = history[expected - 1]?.valLoss as number;
      expect(Math.abs(recomputed - reported) / reported).toBeLessThan(1e-5);
    }, 300_000);
  }
});
