import { describe, expect, it } from "vitest";
import { DEFAULT_HYPERPARAMS, hyperparamsSchema } from "@/shared/hyperparams";
import { describeIssue } from "@/shared/zod-issues";

describe("hyperparameter schema", () => {
  it("defaults to the seed notebook's recipe", () => {
    expect(DEFAULT_HYPERPARAMS).toMatchObject({
      dropout: [0.2, 0.3, 0.4, 0.5],
      l2: 1e-4,
      learningRate: 5e-4,
      batchSize: 64,
      epochs: 250,
      lrPlateau: { factor: 0.5, patience: 10, minLr: 1e-5 },
      earlyStopping: { enabled: true, patience: 40, restoreBestWeights: true },
      validationSplit: 0.1,
      splitSeed: 70,
      augmentation: {
        enabled: true,
        rotationDegrees: 15,
        widthShift: 0.12,
        heightShift: 0.12,
        horizontalFlip: true,
        zoom: 0.1,
        brightness: [0.9, 1.1],
        shearDegrees: 10,
        channelShift: 0.1,
        fillMode: "nearest",
      },
    });
    expect(DEFAULT_HYPERPARAMS.trainLimit).toBeUndefined();
  });

  it("fills nested defaults around a partial override", () => {
    const config = hyperparamsSchema.parse({ lrPlateau: { patience: 3 }, augmentation: { enabled: false } });
    expect(config.lrPlateau).toEqual({ factor: 0.5, patience: 3, minLr: 1e-5 });
    expect(config.augmentation.enabled).toBe(false);
    expect(config.augmentation.rotationDegrees).toBe(15);
  });

  it.each([
    [{ learningRate: -1 }, "learningRate must be > 0"],
    [{ learningRate: 0 }, "learningRate must be > 0"],
    [{ dropout: [0.2, 1.5, 0.4, 0.5] }, "dropout[1] must be < 1"],
    [{ dropout: [0.2, 0.3] }, "dropout must list 4 rates, one per conv block"],
    [{ normalization: "minmax" }, "normalization must be one of sfs, zscore, zscore-per-channel"],
    [{ batchSize: 6.5 }, "batchSize must be an integer"],
    [{ epochs: 0 }, "epochs must be ≥ 1"],
    [{ lrPlateau: { factor: 1 } }, "lrPlateau.factor must be < 1"],
    [
      { augmentation: { brightness: [1.2, 0.8] } },
      "augmentation.brightness lower bound must be ≤ upper bound",
    ],
  ])("rejects %j with %s", (input, message) => {
    const result = hyperparamsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map(describeIssue)).toContain(message);
  });
});
