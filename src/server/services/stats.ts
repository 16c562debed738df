// Statistics for comparing groups of seed replicas: mean ± 95% CI per group, and Welch's
// t-test with Hedges' g between two groups, explained in words.
// jstat is CommonJS without named exports for Node's ESM loader (scripts run through tsx).
import jstat from "jstat";

const { jStat } = jstat;

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample variance (n − 1 in the denominator); 0 for a single value. */
export function variance(values: number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1);
}

export interface MeanCI {
  n: number;
  mean: number;
  /** Bounds of the 95% confidence interval of the mean (t distribution); equal to the mean for n = 1. */
  lo: number;
  hi: number;
}

export function meanCI(values: number[]): MeanCI {
  const n = values.length;
  const m = mean(values);
  if (n < 2) return { n, mean: m, lo: m, hi: m };
  const half = jStat.studentt.inv(0.975, n - 1) * Math.sqrt(variance(values) / n);
  return { n, mean: m, lo: m - half, hi: m + half };
}

export interface WelchResult {
  nA: number;
  nB: number;
  meanA: number;
  meanB: number;
  /** meanA − meanB, with its 95% confidence interval. */
  difference: number;
  ci: [number, number];
  /** null where it is infinite (no spread within either group, means apart): JSON has no ∞. */
  t: number | null;
  df: number;
  /** Two-sided. */
  p: number;
  /** Hedges' g: the difference in pooled standard deviations, corrected for small samples. */
  hedgesG: number;
}

/** Welch's two-sample t-test (unequal variances). Needs at least two values per group. */
export function welchTTest(a: number[], b: number[]): WelchResult {
  if (a.length < 2 || b.length < 2) throw new Error("each group needs at least two values");
  const [nA, nB] = [a.length, b.length];
  const [vA, vB] = [variance(a) / nA, variance(b) / nB];
  // Below 1e-12 a difference or spread is floating-point noise (0.1 summed three ways).
  const noise = (x: number) => (Math.abs(x) < 1e-12 ? 0 : x);
  const difference = noise(mean(a) - mean(b));
  const se = noise(Math.sqrt(vA + vB));
  const df = se === 0 ? nA + nB - 2 : (vA + vB) ** 2 / (vA ** 2 / (nA - 1) + vB ** 2 / (nB - 1));
  const t = se === 0 ? (difference === 0 ? 0 : null) : difference / se;
  // jStat's cdf(0) is 0.4999999949…: clamp so equal groups give p = 1, not 1.00000001.
  const p = t === null ? 0 : Math.min(1, 2 * (1 - jStat.studentt.cdf(Math.abs(t), df)));
  const half = jStat.studentt.inv(0.975, df) * se;
  const pooled = noise(Math.sqrt(((nA - 1) * variance(a) + (nB - 1) * variance(b)) / (nA + nB - 2)));
  const correction = 1 - 3 / (4 * (nA + nB) - 9);
  const hedgesG = pooled === 0 ? 0 : (difference / pooled) * correction;
  return {
    nA,
    nB,
    meanA: mean(a),
    meanB: mean(b),
    difference,
    ci: [difference - half, difference + half],
    t,
    df,
    p,
    hedgesG,
  };
}

/** Cohen's conventional labels for |g|. */
export function effectSizeLabel(g: number): string {
  const size = Math.abs(g);
  if (size < 0.2) return "negligible";
  if (size < 0.5) return "small";
  if (size < 0.8) return "medium";
  return "large";
}

const points = (x: number) => `${(Math.abs(x) * 100).toFixed(2)} points`;
const formatP = (p: number) => (p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`);

/** The test's result as a person would say it, for accuracies in [0, 1]. */
export function describeWelch(labelA: string, labelB: string, r: WelchResult, metric: string): string {
  const [better, worse] = r.difference >= 0 ? [labelA, labelB] : [labelB, labelA];
  const ci = `95% CI ${(r.ci[0] * 100).toFixed(2)} to ${(r.ci[1] * 100).toFixed(2)} points`;
  const head =
    r.difference === 0
      ? `${labelA} and ${labelB} have the same mean ${metric}.`
      : `${better} beats ${worse} by ${points(r.difference)} of ${metric} on average (${labelA} − ${labelB}: ${ci}).`;
  const verdict =
    r.p < 0.05
      ? `A difference this large would come up by chance in ${(r.p * 100).toPrecision(2)}% of repeats if the two were equally good, so it is unlikely to be luck (${formatP(r.p)}, Welch's t-test, ${r.nA} vs ${r.nB} runs).`
      : `A difference this large would come up by chance in ${(r.p * 100).toPrecision(2)}% of repeats even if the two were equally good, so these runs do not show a real difference (${formatP(r.p)}, Welch's t-test, ${r.nA} vs ${r.nB} runs); more seeds would tell.`;
  return `${head} ${verdict} Effect size: ${effectSizeLabel(r.hedgesG)} (Hedges' g = ${r.hedgesG.toFixed(2)}).`;
}
