import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { hyperparamsSchema } from "@/shared/hyperparams";
import { scorePredictions } from "@/shared/scoring";
import { selectBackend } from "@/trainer/backend";
import { buildModel, layerSummary } from "@/trainer/model/vgg";
import { compile } from "@/trainer/train";

beforeAll(async () => {
  // wasm: a training step of the whole network takes over 20 s on the cpu backend.
  await selectBackend("wasm");
});

describe("the seed model", () => {
  it("has 1,186,346 parameters, 1,920 of them non-trainable", () => {
    const model = buildModel({ dropout: [0.2, 0.3, 0.4, 0.5], l2: 1e-4, seed: 1 });
    const summary = layerSummary(model);
    expect(model.countParams()).toBe(1_186_346);
    expect(summary.total).toBe(1_186_346);
    expect(summary.total - summary.trainable).toBe(1_920);
    expect(summary.layers.filter((l) => l.type === "Conv2D").map((l) => l.outputShape.at(-1))).toEqual([
      32, 32, 64, 64, 128, 128, 256, 256,
    ]);
    expect(summary.layers.filter((l) => l.type === "Dropout").length).toBe(4);
    expect(summary.layers.at(-2)).toMatchObject({
      name: "predictions",
      outputShape: [null, 10],
      params: 10_250,
    });
    expect(summary.layers.at(-1)).toMatchObject({ type: "Softmax", outputShape: [null, 10], params: 0 });
    model.dispose();
  });

  it("takes its dropout schedule and L2 from the hyperparameters", () => {
    const model = buildModel({ dropout: [0.1, 0.15, 0.2, 0.25], l2: 0, seed: 1 });
    const rates = model.layers.filter((l) => l.getClassName() === "Dropout").map((l) => l.getConfig().rate);
    expect(rates).toEqual([0.1, 0.15, 0.2, 0.25]);
    expect(model.layers[0]?.getConfig().kernelRegularizer).toBeNull();
    model.dispose();
  });
});

describe("training's loss", () => {
  // A softmax saturated on a wrong class: tfjs' probability cross-entropy clips p to 1e-7 and
  // passes no gradient back, so such a network never recovers (SGD at 0.15 stalled at 10%).
  it("still has a gradient when the softmax is saturated on a wrong class", async () => {
    const config = hyperparamsSchema.parse({
      optimizer: "sgd-nesterov",
      momentum: 0.9,
      learningRate: 0.1,
      l2: 0,
    });
    const model = buildModel({ dropout: [0, 0, 0, 0], l2: 0, seed: 1 });
    const { training } = compile(model, config);
    const dense = model.getLayer("predictions");
    const [kernel] = dense.getWeights();
    dense.setWeights([kernel as tf.Tensor, tf.tensor1d([60, 0, 0, 0, 0, 0, 0, 0, 0, 0])]);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 3);
    const y = tf.oneHot(tf.fill([2], 1, "int32"), 10);
    const [before] = (await training.evaluate(x, y)) as tf.Scalar[];
    expect(before?.dataSync()[0]).toBeGreaterThan(50); // the true cross-entropy, unclipped
    await training.trainOnBatch(x, y);
    const after = dense.getWeights()[1]?.dataSync() ?? [];
    // The softmax gradient is p - y: about +1 for class 0 and -1 for class 1. Nesterov's first
    // step moves by lr · (1 + momentum) · gradient.
    expect(after[0]).toBeCloseTo(60 - 0.19, 2);
    expect(after[1]).toBeCloseTo(0.19, 2);
    expect((model.predict(x) as tf.Tensor).arraySync()).toHaveLength(2);
    tf.dispose([x, y]);
    model.dispose();
  });

  it("smooths labels as Keras does", async () => {
    const model = buildModel({ dropout: [0, 0, 0, 0], l2: 0, seed: 1 });
    const { training } = compile(model, hyperparamsSchema.parse({ labelSmoothing: 0.1, l2: 0 }));
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, "float32", 4);
    const y = tf.oneHot(tf.tensor1d([0, 3, 5, 9], "int32"), 10);
    const [loss] = (await training.evaluate(x, y)) as tf.Scalar[];
    const p = model.predict(x) as tf.Tensor;
    const expected = tf.tidy(() => y.mul(0.9).add(0.01).mul(p.log()).sum(1).neg().mean().dataSync()[0]);
    expect(loss?.dataSync()[0]).toBeCloseTo(expected as number, 4);
    tf.dispose([x, y, p]);
    model.dispose();
  });
});

describe("scorePredictions", () => {
  it("computes the confusion matrix, per-class metrics and misclassified samples", () => {
    // 3 classes; labels 0,0,1,2; predictions 0,1,1,1.
    const probabilities = Float32Array.from([0.8, 0.1, 0.1, 0.3, 0.6, 0.1, 0.2, 0.7, 0.1, 0.1, 0.5, 0.4]);
    const result = scorePredictions(probabilities, [0, 0, 1, 2], 3);
    expect(result.accuracy).toBe(0.5);
    expect(result.confusionMatrix).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
    expect(result.perClass[1]).toMatchObject({ precision: 1 / 3, recall: 1, support: 1 });
    expect(result.perClass[1]?.f1).toBeCloseTo(0.5, 10);
    expect(result.perClass[2]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(result.misclassified.map((m) => [m.index, m.label, m.predicted])).toEqual([
      [1, 0, 1],
      [3, 2, 1],
    ]);
    expect(result.loss).toBeCloseTo(-(Math.log(0.8) + Math.log(0.3) + Math.log(0.7) + Math.log(0.4)) / 4, 6);
  });
});
