import { describe, expect, it } from "vitest";
import {
  fromFormValues,
  HYPERPARAM_FIELDS,
  issuesByPath,
  parseSeeds,
  toFormValues,
} from "@/features/experiments/hyperparams-form-model";
import { DEFAULT_HYPERPARAMS, hyperparamsObjectSchema, hyperparamsSchema } from "@/shared/hyperparams";

describe("hyperparameter form model", () => {
  it("round-trips the default config through the form's text values", () => {
    const values = toFormValues(DEFAULT_HYPERPARAMS);
    expect(values.learningRate).toBe("0.0005");
    expect(values["dropout.3"]).toBe("0.5");
    expect(values["augmentation.horizontalFlip"]).toBe(true);
    const { seed: _seed, ...expected } = DEFAULT_HYPERPARAMS;
    expect(hyperparamsSchema.parse(fromFormValues(values))).toEqual({
      ...expected,
      seed: DEFAULT_HYPERPARAMS.seed,
    });
  });

  it("covers every hyperparameter the schema has except the seed, which the seeds field sets", () => {
    const topLevel = new Set(HYPERPARAM_FIELDS.map((field) => field.path.split(".")[0]));
    const schemaKeys = Object.keys(hyperparamsObjectSchema.shape).filter((key) => key !== "seed");
    expect([...topLevel].sort()).toEqual(schemaKeys.sort());
  });

  it("turns an emptied number field into an error, and an emptied optional one into 'not set'", () => {
    const values = { ...toFormValues(DEFAULT_HYPERPARAMS), learningRate: " ", trainLimit: "" };
    const config = fromFormValues(values);
    expect(config.trainLimit).toBeUndefined();
    const result = hyperparamsSchema.safeParse(config);
    expect(issuesByPath(result.error?.issues ?? [])).toEqual({ learningRate: "must be a number" });
  });

  it("parses seed lists", () => {
    expect(parseSeeds("1, 2  3")).toEqual([1, 2, 3]);
    expect(parseSeeds("")).toBe("must list at least one seed");
    expect(parseSeeds("1, x")).toBe("must be whole numbers ≥ 0, separated by commas");
    expect(parseSeeds("-4")).toBe("must be whole numbers ≥ 0, separated by commas");
  });

  it("keys issues by path under a prefix", () => {
    const issues = [
      { path: ["runs", 0, "config", "dropout", 1], message: "must be < 1" },
      { path: ["name"], message: "must not be empty" },
    ];
    expect(issuesByPath(issues, ["runs", 0, "config"])).toEqual({ "dropout.1": "must be < 1" });
    expect(issuesByPath(issues).name).toBe("must not be empty");
  });
});
