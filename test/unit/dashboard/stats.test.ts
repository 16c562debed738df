// Reference values come from an independent implementation (@stdlib/stats-ttest2 and R's
// t.test(x, y) with var.equal = FALSE), not from this code.
import { describe, expect, it } from "vitest";
import { describeWelch, effectSizeLabel, meanCI, welchTTest } from "@/server/services/stats";

describe("Welch's t-test", () => {
  const sfs = [0.61, 0.62, 0.6, 0.63];
  const zscore = [0.58, 0.57, 0.59, 0.585];

  it("matches an independent implementation's t, df and two-sided p", () => {
    const r = welchTTest(sfs, zscore);
    expect(r.t).toBeCloseTo(4.360893406671144, 9);
    expect(r.df).toBeCloseTo(5.203278688524589, 9);
    expect(r.p).toBeCloseTo(0.0066445229741039285, 9);
    expect(r.difference).toBeCloseTo(0.03375, 12);
    // The CI of the difference excludes 0 exactly when p < 0.05.
    expect(r.ci[0]).toBeGreaterThan(0);
    expect(r.ci[1]).toBeGreaterThan(r.difference);
  });

  it("is symmetric: swapping the groups flips t and the difference, not p", () => {
    const a = welchTTest(sfs, zscore);
    const b = welchTTest(zscore, sfs);
    expect(b.t).toBeCloseTo(-(a.t ?? Number.NaN), 12);
    expect(b.p).toBeCloseTo(a.p, 12);
    expect(b.hedgesG).toBeCloseTo(-a.hedgesG, 12);
  });

  it("treats identical groups as no difference (p = 1), even with floating-point noise", () => {
    const r = welchTTest([0.1, 0.1, 0.1], [0.1 + 1e-17, 0.1]);
    expect(r.difference).toBe(0);
    expect(r.p).toBe(1);
    expect(describeWelch("A", "B", r, "test accuracy")).toContain("the same mean test accuracy");
  });

  it("gives groups without spread but apart p = 0 and a t that survives JSON (null, not ∞)", () => {
    const r = welchTTest([0.1, 0.1], [0.2, 0.2]);
    expect(r.p).toBe(0);
    expect(r.t).toBeNull();
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it("refuses groups of fewer than two runs", () => {
    expect(() => welchTTest([0.5], [0.4, 0.45])).toThrow(/at least two/);
  });

  it("says the result in words: who wins, by how much, how likely by chance, effect size", () => {
    const text = describeWelch("sfs", "zscore", welchTTest(sfs, zscore), "test accuracy");
    expect(text).toMatch(/^sfs beats zscore by 3\.38 points of test accuracy/);
    expect(text).toContain("unlikely to be luck (p = 0.007");
    expect(text).toContain("Effect size: large");
    const unclear = describeWelch(
      "a",
      "b",
      welchTTest([0.5, 0.6, 0.55], [0.52, 0.58, 0.54]),
      "test accuracy",
    );
    expect(unclear).toContain("do not show a real difference");
  });

  it("labels effect sizes by Cohen's conventions", () => {
    expect([0.1, 0.3, 0.6, 1.2, -0.9].map(effectSizeLabel)).toEqual([
      "negligible",
      "small",
      "medium",
      "large",
      "large",
    ]);
  });
});

describe("mean with 95% CI", () => {
  it("uses the t distribution: [1, 2, 3] gives 2 ± 4.303·1/√3", () => {
    const ci = meanCI([1, 2, 3]);
    expect(ci.mean).toBe(2);
    expect(ci.hi - ci.mean).toBeCloseTo((4.302652729911275 * 1) / Math.sqrt(3), 9);
    expect(ci.mean - ci.lo).toBeCloseTo(ci.hi - ci.mean, 12);
  });

  it("has no width for a single run", () => {
    expect(meanCI([0.7])).toEqual({ n: 1, mean: 0.7, lo: 0.7, hi: 0.7 });
  });
});
