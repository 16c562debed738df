// The hyperparameter form's model: which fields it shows, and the conversion between the
// form's flat text values and a config for the shared zod schema.
import {
  FILL_MODES,
  type Hyperparams,
  LR_SCHEDULES,
  NORMALIZATIONS,
  OPTIMIZERS,
  PRESET_NAMES,
} from "@/shared/hyperparams";

export interface FieldSpec {
  /** Dotted path into the config: "lrPlateau.factor", "dropout.0". */
  path: string;
  label: string;
  kind: "number" | "select" | "checkbox";
  options?: readonly string[];
  step?: string;
  /** Empty (unchecked, for a checkbox) means "not set" rather than an error (or false). */
  optional?: boolean;
  hint?: string;
}

export const HYPERPARAM_SECTIONS: { title: string; fields: FieldSpec[] }[] = [
  {
    title: "Data",
    fields: [
      {
        path: "preset",
        label: "Built from preset",
        kind: "select",
        options: PRESET_NAMES,
        optional: true,
        hint: "set by the preset buttons",
      },
      {
        path: "normalization",
        label: "Normalization",
        kind: "select",
        options: NORMALIZATIONS,
        hint: "sfs = x/255",
      },
      { path: "validationSplit", label: "Validation fraction", kind: "number", step: "0.01" },
      { path: "splitSeed", label: "Split seed", kind: "number", step: "1" },
      {
        path: "testEvaluationEvery",
        label: "Test evaluation every N epochs",
        kind: "number",
        step: "1",
        hint: "0 = at the end only",
      },
      {
        path: "trainLimit",
        label: "Train on first N images",
        kind: "number",
        step: "1",
        optional: true,
        hint: "empty = all",
      },
    ],
  },
  {
    title: "Model",
    fields: [
      { path: "dropout.0", label: "Dropout, block 1", kind: "number", step: "0.05" },
      { path: "dropout.1", label: "Dropout, block 2", kind: "number", step: "0.05" },
      { path: "dropout.2", label: "Dropout, block 3", kind: "number", step: "0.05" },
      { path: "dropout.3", label: "Dropout, block 4", kind: "number", step: "0.05" },
      { path: "l2", label: "L2 weight decay", kind: "number", step: "any" },
      {
        path: "labelSmoothing",
        label: "Label smoothing",
        kind: "number",
        step: "0.01",
        hint: "0 = one-hot targets",
      },
    ],
  },
  {
    title: "Optimiser",
    fields: [
      { path: "optimizer", label: "Optimizer", kind: "select", options: OPTIMIZERS },
      {
        path: "learningRate",
        label: "Learning rate",
        kind: "number",
        step: "any",
        hint: "one-cycle: the peak",
      },
      { path: "momentum", label: "Momentum (SGD)", kind: "number", step: "0.01" },
      { path: "batchSize", label: "Batch size", kind: "number", step: "1" },
      { path: "epochs", label: "Max epochs", kind: "number", step: "1" },
    ],
  },
  {
    title: "Schedule and early stopping",
    fields: [
      { path: "lrSchedule", label: "LR schedule", kind: "select", options: LR_SCHEDULES },
      {
        path: "warmupFraction",
        label: "One-cycle warm-up fraction",
        kind: "number",
        step: "0.05",
      },
      { path: "lrPlateau.factor", label: "LR plateau factor", kind: "number", step: "0.05" },
      { path: "lrPlateau.patience", label: "LR plateau patience", kind: "number", step: "1" },
      { path: "lrPlateau.minLr", label: "Minimum LR", kind: "number", step: "any" },
      { path: "earlyStopping.enabled", label: "Early stopping", kind: "checkbox" },
      { path: "earlyStopping.patience", label: "Early stopping patience", kind: "number", step: "1" },
      {
        path: "earlyStopping.restoreBestWeights",
        label: "Restore best weights when stopping early",
        kind: "checkbox",
      },
      {
        path: "earlyStopping.restoreBestAlways",
        label: "Always end on the best epoch's weights",
        kind: "checkbox",
      },
    ],
  },
  {
    title: "Augmentation",
    fields: [
      { path: "augmentation.enabled", label: "Augment on the fly", kind: "checkbox" },
      { path: "augmentation.rotationDegrees", label: "Rotation (°)", kind: "number", step: "1" },
      { path: "augmentation.widthShift", label: "Width shift", kind: "number", step: "0.01" },
      { path: "augmentation.heightShift", label: "Height shift", kind: "number", step: "0.01" },
      {
        path: "augmentation.wholePixelShifts",
        label: "Shift by whole pixels",
        kind: "checkbox",
        optional: true,
        hint: "random crop, no blur",
      },
      { path: "augmentation.horizontalFlip", label: "Horizontal flip", kind: "checkbox" },
      { path: "augmentation.zoom", label: "Zoom", kind: "number", step: "0.01" },
      { path: "augmentation.brightness.0", label: "Brightness min", kind: "number", step: "0.05" },
      { path: "augmentation.brightness.1", label: "Brightness max", kind: "number", step: "0.05" },
      { path: "augmentation.shearDegrees", label: "Shear (°)", kind: "number", step: "1" },
      { path: "augmentation.channelShift", label: "Channel shift", kind: "number", step: "0.01" },
      { path: "augmentation.fillMode", label: "Fill mode", kind: "select", options: FILL_MODES },
    ],
  },
];

export const HYPERPARAM_FIELDS: FieldSpec[] = HYPERPARAM_SECTIONS.flatMap((section) => section.fields);

export type FormValues = Record<string, string | boolean>;

function getPath(source: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], source);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node: Record<string, unknown> = target;
  keys.slice(0, -1).forEach((key, i) => {
    node[key] ??= /^\d+$/.test(keys[i + 1] ?? "") ? [] : {};
    node = node[key] as Record<string, unknown>;
  });
  node[keys.at(-1) as string] = value;
}

export function toFormValues(config: Hyperparams): FormValues {
  const values: FormValues = {};
  for (const field of HYPERPARAM_FIELDS) {
    const value = getPath(config, field.path);
    values[field.path] =
      field.kind === "checkbox" ? Boolean(value) : value === undefined ? "" : String(value);
  }
  return values;
}

/** The config the form describes. An empty or non-numeric number field becomes NaN, which the schema rejects by name. */
export function fromFormValues(values: FormValues): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of HYPERPARAM_FIELDS) {
    const raw = values[field.path];
    if (field.kind === "checkbox") {
      if (!raw && field.optional) continue;
      setPath(config, field.path, Boolean(raw));
    } else if (field.kind === "select") {
      if (raw === "" && field.optional) continue;
      setPath(config, field.path, raw);
    } else {
      const text = String(raw ?? "").trim();
      if (text === "" && field.optional) continue;
      setPath(config, field.path, text === "" ? Number.NaN : Number(text));
    }
  }
  return config;
}

/** Seeds typed as "70" or "1, 2, 3": the list, or an error message. */
export function parseSeeds(text: string): number[] | string {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) return "must list at least one seed";
  const seeds = parts.map(Number);
  if (seeds.some((seed) => !Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1)) {
    return "must be whole numbers ≥ 0, separated by commas";
  }
  if (seeds.length > 100) return "must list at most 100 seeds";
  return seeds;
}

/** Zod issues keyed by dotted path relative to `prefix` (issues outside it are dropped). */
export function issuesByPath(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  prefix: readonly PropertyKey[] = [],
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (!prefix.every((part, i) => path[i] === String(part))) continue;
    errors[path.slice(prefix.length).join(".")] ??= issue.message;
  }
  return errors;
}
