import { describe, expect, it } from "vitest";
import { CLASS_NAMES } from "@/shared/cifar10-classes";
import { DEFAULT_SYNONYMS, formatSynonyms, parseSynonyms, resolveClass } from "@/shared/class-synonyms";
import { DEFAULT_HYPERPARAMS, hyperparamsSchema } from "@/shared/hyperparams";
import { PRESETS } from "@/shared/presets";
import { oneCycleLr } from "@/trainer/train";

describe("presets", () => {
  it("a preset name fills the config; fields given override it, nested ones field by field", () => {
    const config = hyperparamsSchema.parse({ preset: "fast", epochs: 12, augmentation: { zoom: 0.2 } });
    expect(config).toMatchObject({
      preset: "fast",
      optimizer: "sgd-nesterov",
      lrSchedule: "one-cycle",
      labelSmoothing: 0.1,
      batchSize: 128,
      epochs: 12,
      earlyStopping: { enabled: false },
    });
    expect(config.augmentation).toMatchObject({ zoom: 0.2, widthShift: 0.125, rotationDegrees: 0 });
    // The Notebook preset is the seed recipe itself, labelled.
    expect(hyperparamsSchema.parse({ preset: "notebook" })).toEqual({
      ...DEFAULT_HYPERPARAMS,
      preset: "notebook",
    });
    expect(hyperparamsSchema.safeParse({ preset: "turbo" }).success).toBe(false);
    // Every preset is a valid config.
    for (const preset of Object.values(PRESETS))
      expect(hyperparamsSchema.safeParse(preset.config).success).toBe(true);
  });

  it("one-cycle warms up from peak/25 to the peak, then anneals to peak/10⁴", () => {
    const lrs = Array.from({ length: 100 }, (_, step) => oneCycleLr(step, 100, 0.003, 0.25));
    expect(lrs[0]).toBeCloseTo(0.003 / 25, 10);
    expect(Math.max(...lrs)).toBeCloseTo(0.003, 10);
    expect(lrs.indexOf(Math.max(...lrs))).toBe(25);
    expect(lrs[99]).toBeLessThan(0.003 / 1000);
    for (let i = 1; i < 100; i++) {
      if (i <= 25) expect(lrs[i]).toBeGreaterThan(lrs[i - 1] as number);
      else expect(lrs[i]).toBeLessThan(lrs[i - 1] as number);
    }
  });
});

describe("class names from folder names", () => {
  it("matches case, spacing, plurals and synonyms, and nothing else", () => {
    const resolve = (name: string) => resolveClass(name, CLASS_NAMES, DEFAULT_SYNONYMS);
    expect(["Cat", "cats", " CATS ", "kitten", "kittens"].map(resolve)).toEqual(Array(5).fill("cat"));
    expect(["car", "Cars", "automobiles", "plane", "Airplanes", "boats", "lorries"].map(resolve)).toEqual([
      "automobile",
      "automobile",
      "automobile",
      "airplane",
      "airplane",
      "ship",
      "truck",
    ]);
    expect(["deer", "horses", "frogs"].map(resolve)).toEqual(["deer", "horse", "frog"]);
    expect(["spaceship", "", "catdog"].map(resolve)).toEqual([null, null, null]);
    // The user's table replaces the defaults.
    expect(resolveClass("car", CLASS_NAMES, { moggy: "cat" })).toBeNull();
    expect(resolveClass("Moggies", CLASS_NAMES, { moggy: "cat" })).toBe("cat");
  });

  it("parses the editable table and names a malformed line", () => {
    expect(parseSynonyms(formatSynonyms(DEFAULT_SYNONYMS))).toEqual(DEFAULT_SYNONYMS);
    expect(parseSynonyms("# mine\nbike -> truck\n\nlorry: truck")).toEqual({ bike: "truck", lorry: "truck" });
    expect(() => parseSynonyms("car automobile")).toThrow(/line 1 .* is not "name = class"/);
  });
});
