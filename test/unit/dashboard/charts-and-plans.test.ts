import { describe, expect, it } from "vitest";
import { smooth } from "@/features/charts/smoothing";
import { confusionChanges } from "@/features/compare/components/confusion-diff";
import { EMPTY_GRID, gridVariants, planRuns } from "@/features/experiments/run-plan";
import { etaSeconds } from "@/features/runs/components/run-progress";
import { distinguishingLabels, flattenConfig, paramRows } from "@/shared/config-diff";
import { experimentCreateSchema } from "@/shared/experiments";

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
});

describe("run plans of the New experiment form", () => {
  const base = { normalization: "zscore", learningRate: 0.0005, augmentation: { enabled: true } };
  const options = { ab: ["sfs", "zscore"] as ["sfs", "zscore"], grid: EMPTY_GRID };

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
