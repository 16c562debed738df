// Random search: N configs sampled from ranges (log-uniform for the learning rate and L2,
// uniform or a choice for the rest), each queued once per seed. The sampler has its own seed,
// recorded with the experiment, so the same search can be queued again.
import seedrandom from "seedrandom";
import { z } from "zod";
import { type HyperparamsInput, hyperparamsSchema, NORMALIZATIONS, seedListSchema } from "./hyperparams";

const range = (low: number, high: number) =>
  z
    .object({
      min: z
        .number({ error: "must be a number" })
        .gt(low, { error: `must be > ${low}` })
        .max(high),
      max: z
        .number({ error: "must be a number" })
        .gt(low, { error: `must be > ${low}` })
        .max(high, { error: `must be ≤ ${high}` }),
    })
    .refine((r) => r.min <= r.max, { error: "min must be ≤ max" });

const choice = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .min(1, { error: "must list at least one value" })
    .max(16, { error: "must list at most 16 values" });

export const searchSpaceSchema = z
  .object({
    /** Log-uniform. */
    learningRate: range(0, 1).optional(),
    /** Log-uniform. */
    l2: range(0, 1).optional(),
    /** Uniform. */
    lrPlateauFactor: range(0, 0.99).optional(),
    batchSize: choice(z.number().int().min(1).max(4096)).optional(),
    normalization: choice(z.enum(NORMALIZATIONS)).optional(),
    augmentation: choice(z.boolean()).optional(),
  })
  .refine((space) => Object.values(space).some((axis) => axis !== undefined), {
    error: "choose at least one hyperparameter to sample",
  });
export type SearchSpace = z.output<typeof searchSpaceSchema>;

export const MAX_SEARCH_CONFIGS = 200;

export const randomSearchSchema = z.object({
  space: searchSpaceSchema,
  count: z
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1" })
    .max(MAX_SEARCH_CONFIGS, { error: `must be at most ${MAX_SEARCH_CONFIGS}` }),
  samplerSeed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  /** Everything not sampled comes from here (the seed recipe by default). */
  config: hyperparamsSchema.prefault({}),
  seeds: seedListSchema.optional(),
});
export type RandomSearch = z.output<typeof randomSearchSchema>;

/** Three significant digits: 0.000318 rather than 0.00031847213. */
const sig3 = (x: number) => Number(x.toPrecision(3));

/** The search's configs, in order; the same search always gives the same configs. */
export function sampleSearch(search: RandomSearch): { name: string; config: HyperparamsInput }[] {
  const random = seedrandom(`labbook-search:${search.samplerSeed}`);
  const logUniform = (r: { min: number; max: number }) =>
    sig3(Math.exp(Math.log(r.min) + random() * (Math.log(r.max) - Math.log(r.min))));
  const pick = <T>(values: T[]) => values[Math.floor(random() * values.length)] as T;
  const { space } = search;
  return Array.from({ length: search.count }, (_, i) => {
    const config: HyperparamsInput = { ...search.config };
    const parts: string[] = [];
    if (space.learningRate) {
      config.learningRate = logUniform(space.learningRate);
      parts.push(`lr ${config.learningRate}`);
    }
    if (space.l2) {
      config.l2 = logUniform(space.l2);
      parts.push(`l2 ${config.l2}`);
    }
    if (space.lrPlateauFactor) {
      const { min, max } = space.lrPlateauFactor;
      const factor = sig3(min + random() * (max - min));
      config.lrPlateau = { ...search.config.lrPlateau, factor };
      parts.push(`plateau ×${factor}`);
    }
    if (space.batchSize) {
      config.batchSize = pick(space.batchSize);
      parts.push(`bs ${config.batchSize}`);
    }
    if (space.normalization) {
      config.normalization = pick(space.normalization);
      parts.push(config.normalization);
    }
    if (space.augmentation) {
      const enabled = pick(space.augmentation);
      config.augmentation = { ...search.config.augmentation, enabled };
      parts.push(`aug ${enabled ? "on" : "off"}`);
    }
    return { name: `random ${i + 1}/${search.count}: ${parts.join(" · ")}`, config };
  });
}

/** "learning rate log-uniform in [0.0001, 0.003]; batch size one of 32, 64" */
export function describeSpace(space: SearchSpace): string {
  const parts: string[] = [];
  const interval = (r: { min: number; max: number }) => `[${r.min}, ${r.max}]`;
  if (space.learningRate) parts.push(`learning rate log-uniform in ${interval(space.learningRate)}`);
  if (space.l2) parts.push(`L2 log-uniform in ${interval(space.l2)}`);
  if (space.lrPlateauFactor) parts.push(`LR plateau factor uniform in ${interval(space.lrPlateauFactor)}`);
  if (space.batchSize) parts.push(`batch size one of ${space.batchSize.join(", ")}`);
  if (space.normalization) parts.push(`normalization one of ${space.normalization.join(", ")}`);
  if (space.augmentation)
    parts.push(`augmentation ${space.augmentation.map((a) => (a ? "on" : "off")).join(" or ")}`);
  return parts.join("; ");
}
