import { describe, expect, it } from "vitest";
import { smooth } from "@/features/charts/smoothing";
import { confusionChanges } from "@/features/compare/components/confusion-diff";
import {
  defaultRandomAxes,
  EMPTY_GRID,
  gridVariants,
  planRuns,
  randomSearchOf,
} from "@/features/experiments/run-plan";
import { etaSeconds } from "@/features/runs/components/run-progress";
import { distinguishingLabels, flattenConfig, paramRows } from "@/shared/config-diff";
import { experimentCreateSchema } from "@/shared/experiments";
import { describeSpace, randomSearchSchema, sampleSearch } from "@/shared/random-search";

describe("curve smoothing", () => {
  it("leaves the curve alone at weight 0 and starts at the first value (debiased)", () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smooth([10, 10, 10, 0], 0.9);
    expect(s[0]).toBeCloseTo(10, 12);
    expect(s[2]).toBeCloseTo(10, 12);
    expect(s[3]).toBeLessThan(10);
    expect(s[3]).toBeGreaterThan(5);
  });
});

describe("parameter differences", () => {
  it("flattens nested configs and marks only the rows that differ", () => {
    expect(flattenConfig({ a: 1, b: { c: [0.2, 0.3] }, d: undefined })).toEqual({
      a: "1",
      "b.c": "0.2, 0.3",
    });
    const rows = paramRows([
      { normalization: "sfs", lr: 0.001, aug: { on: true } },
      { normalization: "zscore", lr: 0.001, aug: { on: true } },
    ]);
    expect(rows.filter((r) => r.differs).map((r) => r.param)).toEqual(["normalization"]);
    expect(rows.find((r) => r.param === "aug.on")).toEqual({
      param: "aug.on",
      values: ["true", "true"],
      differs: false,
    });
  });

  it("labels groups by what tells them apart, ignoring the seed", () => {
    expect(
      distinguishingLabels([
        { normalization: "sfs", seed: 1 },
        { normalization: "zscore", seed: 2 },
      ]),
    ).toEqual(["normalization=sfs", "normalization=zscore"]);
    expect(distinguishingLabels([{ seed: 1 }])).toEqual(["same config"]);
  });

  it("labels by the parameters every config has: an MLflow run's params beside a trained run's config", () => {
    expect(
      distinguishingLabels([
        { normalization: "zscore", learningRate: 5e-4, augmentation: { enabled: true } },
        { normalization: "sfs", learning_rate: "0.001" },
      ]),
    ).toEqual(["normalization=zscore", "normalization=sfs"]);
  });
});

describe("run plans of the New experiment form", () => {
  const base = { normalization: "zscore", learningRate: 0.0005, augmentation: { enabled: true } };
  const options = {
    ab: ["sfs", "zscore"] as ["sfs", "zscore"],
    grid: EMPTY_GRID,
    random: defaultRandomAxes(7),
  };

  it("A/B queues both normalisations with every seed, and the API schema accepts it", () => {
    const plan = planRuns("ab", base, [1, 2, 3], options);
    if (typeof plan === "string") throw new Error(plan);
    expect(plan.map((p) => [p.name, (p.config as { normalization: string }).normalization, p.seeds])).toEqual(
      [
        ["sfs", "sfs", [1, 2, 3]],
        ["zscore", "zscore", [1, 2, 3]],
      ],
    );
    const parsed = experimentCreateSchema.parse({ name: "ab", runs: plan });
    expect(parsed.runs).toHaveLength(2);
    expect(planRuns("ab", base, [1], { ...options, ab: ["sfs", "sfs"] })).toMatch(/different normalisations/);
  });

  it("a grid is the product of its axes", () => {
    const variants = gridVariants({
      normalization: ["sfs", "zscore"],
      learningRate: "0.001, 0.0005",
      batchSize: "",
      l2: "",
      epochs: "",
      augmentation: ["on", "off"],
    });
    if (typeof variants === "string") throw new Error(variants);
    expect(variants).toHaveLength(8);
    expect(variants.map((v) => v.name)).toContain("zscore · lr 0.0005 · aug off");
    const config = variants.find((v) => v.name === "zscore · lr 0.0005 · aug off")?.patch(base);
    expect(config).toEqual({
      normalization: "zscore",
      learningRate: 0.0005,
      augmentation: { enabled: false },
    });
    expect(gridVariants({ ...EMPTY_GRID, learningRate: "0.1, x" })).toMatch(/Learning rates must be numbers/);
    expect(gridVariants(EMPTY_GRID)).toMatch(/at least one grid axis/);
  });
});

describe("ETA and confusion changes", () => {
  it("estimates the time left from recent epoch times", () => {
    const progress = { epoch: 3, batch: 50, batches: 100, imagesPerSecond: 40, at: "" };
    expect(etaSeconds(progress, 10, [100, 100])).toBeCloseTo(50 + 7 * 100, 9);
    expect(etaSeconds(progress, 10, [])).toBeNull();
  });

  it("names the confusions one run fixed and made worse", () => {
    const a = [
      [8, 2],
      [0, 10],
    ];
    const b = [
      [10, 0],
      [3, 7],
    ];
    const changes = confusionChanges(a, b);
    expect(changes.fixed).toEqual([{ trueClass: 0, predicted: 1, delta: -2 }]);
    expect(changes.worse).toEqual([{ trueClass: 1, predicted: 0, delta: 3 }]);
  });
});

describe("random search", () => {
  const search = randomSearchSchema.parse({
    space: {
      learningRate: { min: 1e-4, max: 1e-2 },
      l2: { min: 1e-6, max: 1e-3 },
      batchSize: [32, 64, 128],
      normalization: ["sfs", "zscore"],
      augmentation: [true, false],
    },
    count: 200,
    samplerSeed: 42,
  });

  it("samples log-uniformly within the ranges, and the same sampler seed gives the same configs", () => {
    const configs = sampleSearch(search);
    expect(configs).toHaveLength(200);
    expect(sampleSearch(search)).toEqual(configs);
    expect(sampleSearch({ ...search, samplerSeed: 43 })).not.toEqual(configs);
    const lrs = configs.map((c) => c.config.learningRate as number);
    expect(Math.min(...lrs)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...lrs)).toBeLessThanOrEqual(1e-2);
    // Log-uniform: about half below the geometric midpoint (1e-3), not a tenth as uniform gives.
    const below = lrs.filter((lr) => lr < 1e-3).length / lrs.length;
    expect(below).toBeGreaterThan(0.38);
    expect(below).toBeLessThan(0.62);
    expect(new Set(configs.map((c) => c.config.batchSize))).toEqual(new Set([32, 64, 128]));
    expect(new Set(configs.map((c) => c.config.augmentation?.enabled))).toEqual(new Set([true, false]));
    expect(configs[0]?.name).toMatch(
      /^random 1\/200: lr [\d.e-]+ · l2 [\d.e-]+ · bs \d+ · (sfs|zscore) · aug (on|off)$/,
    );
    // What is not sampled comes from the base config (the seed recipe here).
    expect(configs.every((c) => c.config.epochs === 250)).toBe(true);
  });

  it("refuses empty spaces, reversed ranges and out-of-range counts, in words", () => {
    expect(randomSearchSchema.safeParse({ space: {}, count: 5, samplerSeed: 1 }).success).toBe(false);
    const reversed = randomSearchSchema.safeParse({
      space: { learningRate: { min: 0.01, max: 0.001 } },
      count: 5,
      samplerSeed: 1,
    });
    expect(reversed.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([
      ["space.learningRate", "min must be ≤ max"],
    ]);
    expect(
      randomSearchSchema.safeParse({ space: { l2: { min: 0, max: 1e-3 } }, count: 5, samplerSeed: 1 })
        .success,
    ).toBe(false);
    expect(
      randomSearchSchema.safeParse({ space: { batchSize: [64] }, count: 201, samplerSeed: 1 }).success,
    ).toBe(false);
    expect(describeSpace(search.space)).toBe(
      "learning rate log-uniform in [0.0001, 0.01]; L2 log-uniform in [0.000001, 0.001]; batch size one of 32, 64, 128; normalization one of sfs, zscore; augmentation on or off",
    );
  });

  it("the form's axes become the same search, and its plan previews the configs the server will queue", () => {
    const axes = {
      ...defaultRandomAxes(42),
      count: "4",
      batchSize: "32, 64",
      normalization: ["sfs" as const],
    };
    const built = randomSearchOf(axes, {}, [1, 2]);
    if (typeof built === "string") throw new Error(built);
    expect(built).toMatchObject({ count: 4, samplerSeed: 42, seeds: [1, 2], space: { batchSize: [32, 64] } });
    const plan = planRuns("random", {}, [1, 2], { ab: ["sfs", "zscore"], grid: EMPTY_GRID, random: axes });
    if (typeof plan === "string") throw new Error(plan);
    expect(plan.map((p) => p.name)).toEqual(sampleSearch(built).map((c) => c.name));
    expect(randomSearchOf({ ...axes, learningRate: ["0.01", "x"] }, {}, [1])).toMatch(
      /^space\.learningRate\.max /,
    );
    expect(randomSearchOf({ ...axes, count: "0" }, {}, [1])).toMatch(/count must be at least 1/);
  });
});
