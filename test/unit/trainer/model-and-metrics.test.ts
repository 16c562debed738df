import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { scorePredictions } from "@/shared/scoring";
import { buildModel, layerSummary } from "@/trainer/model/vgg";

beforeAll(async () => {
  await tf.setBackend("cpu");
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
    expect(summary.layers.at(-1)).toMatchObject({
      name: "predictions",
      outputShape: [null, 10],
      params: 10_250,
    });
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
