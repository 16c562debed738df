// What the "New experiment" form queues: one config, an A/B of two normalisations, a grid
// over chosen hyperparameters, or a random search; each as one run per seed.
import type { RunSpecInput } from "@/shared/experiments";
import type { Normalization } from "@/shared/hyperparams";
import { type RandomSearch, randomSearchSchema, sampleSearch } from "@/shared/random-search";
import { describeIssue } from "@/shared/zod-issues";

export type PlanMode = "single" | "ab" | "grid" | "random";

/** The random search as the form's text: ranges as [min, max], choices as lists. */
export interface RandomAxes {
  count: string;
  samplerSeed: string;
  learningRate: [string, string];
  l2: [string, string];
  batchSize: string;
  normalization: Normalization[];
  augmentation: ("on" | "off")[];
}

export function defaultRandomAxes(samplerSeed: number): RandomAxes {
  return {
    count: "10",
    samplerSeed: String(samplerSeed),
    learningRate: ["0.0001", "0.003"],
    l2: ["", ""],
    batchSize: "",
    normalization: [],
    augmentation: [],
  };
}

/** The search the axes describe, checked by the shared schema, or the first problem in words. */
export function randomSearchOf(axes: RandomAxes, config: Config, seeds: number[]): RandomSearch | string {
  const space: Record<string, unknown> = {};
  for (const key of ["learningRate", "l2"] as const) {
    const [min, max] = axes[key].map((v) => v.trim());
    if (min || max) space[key] = { min: Number(min), max: Number(max) };
  }
  if (axes.batchSize.trim()) {
    const sizes = numberList(axes.batchSize);
    if (typeof sizes === "string") return `Batch sizes ${sizes}`;
    space.batchSize = sizes;
  }
  if (axes.normalization.length) space.normalization = axes.normalization;
  if (axes.augmentation.length) space.augmentation = axes.augmentation.map((a) => a === "on");
  const parsed = randomSearchSchema.safeParse({
    space,
    count: Number(axes.count),
    samplerSeed: Number(axes.samplerSeed),
    config,
    seeds,
  });
  return parsed.success ? parsed.data : parsed.error.issues.map(describeIssue).join("; ");
}

/** Grid axes as the form's text: "0.001, 0.0005" for numbers, chosen values for the rest. */
export interface GridAxes {
  normalization: Normalization[];
  learningRate: string;
  batchSize: string;
  l2: string;
  epochs: string;
  augmentation: ("on" | "off")[];
}

export const EMPTY_GRID: GridAxes = {
  normalization: [],
  learningRate: "",
  batchSize: "",
  l2: "",
  epochs: "",
  augmentation: [],
};

export const GRID_NUMBER_AXES = [
  { key: "learningRate", label: "Learning rates" },
  { key: "batchSize", label: "Batch sizes" },
  { key: "l2", label: "L2 values" },
  { key: "epochs", label: "Max epochs" },
] as const;

type Config = Record<string, unknown>;
type Variant = { name: string; patch: (config: Config) => Config };

function numberList(text: string): number[] | string {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  const values = parts.map(Number);
  if (values.some((v) => !Number.isFinite(v))) return "must be numbers separated by commas";
  return [...new Set(values)];
}

function product(axes: Variant[][]): Variant[] {
  return axes.reduce<Variant[]>(
    (combos, axis) =>
      combos.flatMap((combo) =>
        axis.map((v) => ({
          name: [combo.name, v.name].filter(Boolean).join(" · "),
          patch: (c: Config) => v.patch(combo.patch(c)),
        })),
      ),
    [{ name: "", patch: (c) => c }],
  );
}

/** The grid's variants, or an error naming the axis that does not parse. */
export function gridVariants(grid: GridAxes): Variant[] | string {
  const axes: Variant[][] = [];
  if (grid.normalization.length)
    axes.push(grid.normalization.map((n) => ({ name: n, patch: (c) => ({ ...c, normalization: n }) })));
  for (const { key, label } of GRID_NUMBER_AXES) {
    if (!grid[key].trim()) continue;
    const values = numberList(grid[key]);
    if (typeof values === "string") return `${label} ${values}`;
    const short = { learningRate: "lr", batchSize: "bs", l2: "l2", epochs: "epochs" }[key];
    axes.push(values.map((v) => ({ name: `${short} ${v}`, patch: (c) => ({ ...c, [key]: v }) })));
  }
  if (grid.augmentation.length)
    axes.push(
      grid.augmentation.map((a) => ({
        name: `aug ${a}`,
        patch: (c) => ({ ...c, augmentation: { ...(c.augmentation as Config), enabled: a === "on" } }),
      })),
    );
  if (!axes.length) return "choose at least one grid axis";
  return product(axes);
}

export function planRuns(
  mode: PlanMode,
  config: Config,
  seeds: number[],
  options: { ab: [Normalization, Normalization]; grid: GridAxes; random: RandomAxes },
): RunSpecInput[] | string {
  const spec = (name: string | undefined, c: Config): RunSpecInput => ({
    ...(name ? { name } : {}),
    config: { ...c, seed: seeds[0] },
    seeds,
  });
  if (mode === "single") return [spec(undefined, config)];
  if (mode === "ab") {
    const [a, b] = options.ab;
    if (a === b) return "the two variants must use different normalisations";
    return [spec(a, { ...config, normalization: a }), spec(b, { ...config, normalization: b })];
  }
  if (mode === "random") {
    const search = randomSearchOf(options.random, config, seeds);
    if (typeof search === "string") return search;
    return sampleSearch(search).map((s) => spec(s.name, s.config as Config));
  }
  const variants = gridVariants(options.grid);
  if (typeof variants === "string") return variants;
  return variants.map((v) => spec(v.name, v.patch(config)));
}

export const DEFAULT_AB: [Normalization, Normalization] = ["sfs", "zscore"];
