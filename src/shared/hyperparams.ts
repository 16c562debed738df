// The hyperparameter schema shared by the API, the dashboard forms and the trainer.
// Defaults are the seed notebook's values, so `{}` parses to the seed recipe.
import { z } from "zod";
import { PRESETS } from "./presets";

export const NORMALIZATIONS = ["sfs", "zscore", "zscore-per-channel"] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];

export const FILL_MODES = ["nearest", "constant", "reflect", "wrap"] as const;

export const OPTIMIZERS = ["adam", "sgd-nesterov"] as const;
/** plateau: ReduceLROnPlateau on val loss; one-cycle: warm up to learningRate, then cosine down. */
export const LR_SCHEDULES = ["plateau", "one-cycle"] as const;
export const PRESET_NAMES = ["notebook", "fast"] as const;

const rate = z
  .number({ error: "must be a number" })
  .min(0, { error: "must be ≥ 0" })
  .lt(1, { error: "must be < 1" });
const count = (min: number, max: number) =>
  z
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(min, { error: `must be ≥ ${min}` })
    .max(max, { error: `must be ≤ ${max}` });
const positive = z.number({ error: "must be a number" }).gt(0, { error: "must be > 0" });

export const augmentationSchema = z.object({
  enabled: z.boolean().default(true),
  rotationDegrees: z.number().min(0).max(180).default(15),
  widthShift: z.number().min(0).lt(1).default(0.12),
  heightShift: z.number().min(0).lt(1).default(0.12),
  horizontalFlip: z.boolean().default(true),
  zoom: z.number().min(0).lt(1).default(0.1),
  brightness: z
    .tuple([positive, positive])
    .refine(([lo, hi]) => lo <= hi, { error: "lower bound must be ≤ upper bound" })
    .default([0.9, 1.1]),
  shearDegrees: z.number().min(0).max(89).default(10),
  channelShift: z.number().min(0).max(1).default(0.1),
  fillMode: z.enum(FILL_MODES).default("nearest"),
  /// Round shifts to whole pixels (a random crop). Keras shifts by fractions of a pixel, which
  /// bilinear sampling blurs, so training images are softer than test images. Optional, so that
  /// configs from before it keep their hash and their checkpoints resume.
  wholePixelShifts: z.boolean().optional(),
});

export const hyperparamsObjectSchema = z.object({
  normalization: z
    .enum(NORMALIZATIONS, { error: `must be one of ${NORMALIZATIONS.join(", ")}` })
    .default("zscore"),
  /// Dropout rate after each of the four conv blocks.
  dropout: z
    .array(rate)
    .length(4, { error: "must list 4 rates, one per conv block" })
    .default([0.2, 0.3, 0.4, 0.5]),
  l2: z.number().min(0, { error: "must be ≥ 0" }).max(1, { error: "must be ≤ 1" }).default(1e-4),
  learningRate: positive.max(1, { error: "must be ≤ 1" }).default(5e-4),
  optimizer: z.enum(OPTIMIZERS, { error: `must be one of ${OPTIMIZERS.join(", ")}` }).default("adam"),
  /// SGD's Nesterov momentum.
  momentum: rate.default(0.9),
  lrSchedule: z.enum(LR_SCHEDULES, { error: `must be one of ${LR_SCHEDULES.join(", ")}` }).default("plateau"),
  /// one-cycle: the share of all steps spent warming up from learningRate / 25.
  warmupFraction: z.number().gt(0, { error: "must be > 0" }).lt(1, { error: "must be < 1" }).default(0.3),
  /// The one-hot targets mixed with the uniform distribution (Keras' label_smoothing).
  labelSmoothing: z.number().min(0, { error: "must be ≥ 0" }).max(0.5, { error: "must be ≤ 0.5" }).default(0),
  batchSize: count(1, 4096).default(64),
  epochs: count(1, 10_000).default(250),
  seed: count(0, 2 ** 31 - 1).default(70),
  lrPlateau: z
    .object({
      factor: positive.lt(1, { error: "must be < 1" }).default(0.5),
      patience: count(0, 10_000).default(10),
      minLr: z.number().min(0, { error: "must be ≥ 0" }).default(1e-5),
    })
    .prefault({}),
  earlyStopping: z
    .object({
      enabled: z.boolean().default(true),
      patience: count(0, 10_000).default(40),
      /// Keras 2's restore_best_weights: the best epoch's weights, only when training stops early.
      restoreBestWeights: z.boolean().default(true),
      /// End on the best epoch's weights (lowest val loss) even when all epochs ran: a good
      /// choice for a model to promote. Off by default, as in the notebook.
      restoreBestAlways: z.boolean().default(false),
    })
    .prefault({}),
  augmentation: augmentationSchema.prefault({}),
  validationSplit: z.number().gt(0).lt(1).default(0.1),
  /// Seed of the train/validation split; kept apart from `seed` so seed replicas share a split.
  splitSeed: count(0, 2 ** 31 - 1).default(70),
  /// Also evaluate on the test set after every N epochs (0: only at the end), for the
  /// dashboard's per-epoch confusion matrices. Costs one pass over the test set each time.
  testEvaluationEvery: count(0, 10_000).default(0),
  /// The preset the config was built from (the form's choice; every field stays editable).
  preset: z.enum(PRESET_NAMES).optional(),
  /// Train on the first N images of the training split only (short runs, smoke tests).
  trainLimit: count(1, 50_000).optional(),
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `over` on top of `base`, nested objects merged, arrays and values replaced. */
function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over))
    merged[key] = isRecord(value) && isRecord(base[key]) ? mergeConfig(base[key], value) : value;
  return merged;
}

/**
 * A config: `{ "preset": "fast", "epochs": 12 }` is the Fast preset with 12 epochs; fields
 * left out come from the preset, then from the seed recipe.
 */
export const hyperparamsSchema = z.preprocess((input) => {
  if (!isRecord(input) || typeof input.preset !== "string" || !(input.preset in PRESETS)) return input;
  return mergeConfig(PRESETS[input.preset as keyof typeof PRESETS].config, input);
}, hyperparamsObjectSchema);

/** Seeds to queue a config with, one run each (seed replicas). */
export const seedListSchema = z
  .array(count(0, 2 ** 31 - 1))
  .min(1, { error: "must list at least one seed" })
  .max(100, { error: "must list at most 100 seeds" });

/** A complete, validated config. */
export type Hyperparams = z.output<typeof hyperparamsObjectSchema>;
/** What a user may send: any subset, the rest filled from the seed recipe. */
export type HyperparamsInput = z.input<typeof hyperparamsObjectSchema>;

export const DEFAULT_HYPERPARAMS: Hyperparams = hyperparamsSchema.parse({});
