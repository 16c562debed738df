import { describe, expect, it } from "vitest";
import { hyperparamsSchema } from "@/shared/hyperparams";
import type { CallbackState } from "@/trainer/checkpoint";
import { applyCallbacks } from "@/trainer/train";

const config = hyperparamsSchema.parse({
  learningRate: 1e-3,
  lrPlateau: { factor: 0.5, patience: 2, minLr: 3e-4 },
  earlyStopping: { patience: 4 },
});

function run(losses: number[]) {
  let state: CallbackState = {
    lr: config.learningRate,
    plateau: { best: Number.POSITIVE_INFINITY, wait: 0 },
    early: { best: Number.POSITIVE_INFINITY, wait: 0, bestEpoch: 0 },
  };
  const lrs: number[] = [];
  let stoppedAt: number | null = null;
  losses.forEach((loss, i) => {
    const step = applyCallbacks(state, loss, i + 1, config);
    state = step.state;
    lrs.push(state.lr);
    if (step.stop && stoppedAt === null) stoppedAt = i + 1;
  });
  return { lrs, stoppedAt, state };
}

describe("ReduceLROnPlateau and EarlyStopping", () => {
  it("halves the learning rate after `patience` epochs without improvement, down to the minimum", () => {
    const { lrs } = run([1.0, 0.9, 0.95, 0.93, 0.96, 0.97, 0.98]);
    expect(lrs).toEqual([1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 3e-4, 3e-4]);
  });

  it("ignores improvements smaller than 1e-4 for the plateau, as Keras does", () => {
    const { lrs } = run([1.0, 0.99995, 0.9999]);
    expect(lrs.at(-1)).toBe(5e-4);
  });

  it("stops after `patience` epochs without a new best and remembers the best epoch", () => {
    const { stoppedAt, state } = run([1.0, 0.8, 0.85, 0.9, 0.81, 0.82, 0.7]);
    expect(stoppedAt).toBe(6);
    expect(state.early.bestEpoch).toBe(7);
  });
});
