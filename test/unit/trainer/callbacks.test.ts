import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { hyperparamsSchema } from "@/shared/hyperparams";
import type { CallbackState } from "@/trainer/checkpoint";
import { applyCallbacks, keptEpoch, setLearningRate } from "@/trainer/train";

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

describe("which epoch's weights a run exports (Keras 2's restore_best_weights)", () => {
  const six = (restoreBestAlways: boolean) =>
    hyperparamsSchema.parse({ epochs: 6, earlyStopping: { patience: 2, restoreBestAlways } });
  function exported(losses: number[], restoreBestAlways: boolean) {
    const cfg = six(restoreBestAlways);
    let state: CallbackState = {
      lr: cfg.learningRate,
      plateau: { best: Number.POSITIVE_INFINITY, wait: 0 },
      early: { best: Number.POSITIVE_INFINITY, wait: 0, bestEpoch: 0 },
    };
    let last = 0;
    let stopped = false;
    for (const [i, loss] of losses.entries()) {
      const step = applyCallbacks(state, loss, i + 1, cfg);
      state = step.state;
      last = i + 1;
      if (step.stop) {
        stopped = true;
        break;
      }
    }
    return { last, stopped, kept: keptEpoch(cfg, stopped, state.early.bestEpoch, last) };
  }

  it("patience 2 running out on the last epoch still counts as stopping early, as in Keras", () => {
    const losses = [1.0, 0.9, 0.8, 0.7, 0.75, 0.72];
    expect(exported(losses, false)).toEqual({ last: 6, stopped: true, kept: 4 });
    // Two epochs without improvement at the very end count as stopping early in Keras.
    const noStop = [1.0, 0.9, 0.8, 0.7, 0.75, 0.69];
    expect(exported(noStop, false)).toEqual({ last: 6, stopped: false, kept: 6 });
    expect(exported([1.0, 0.9, 0.8, 0.7, 0.71, 0.6], false).kept).toBe(6);
    expect(exported([1.0, 0.9, 0.8, 0.7, 0.71, 0.69], true).kept).toBe(6);
  });

  it("keeps the last epoch when all ran and the best came earlier, unless always restoring", () => {
    const losses = [1.0, 0.6, 0.7, 0.59, 0.65, 0.62];
    expect(exported(losses, false)).toEqual({ last: 6, stopped: true, kept: 4 });
    const ranAll = [1.0, 0.6, 0.7, 0.55, 0.65, 0.54];
    expect(exported(ranAll, false).kept).toBe(6);
    const bestEarly = [1.0, 0.5, 0.7, 0.6, 0.55, 0.52];
    expect(exported(bestEarly, false)).toEqual({ last: 4, stopped: true, kept: 2 });
    const lateBounce = [1.0, 0.9, 0.5, 0.6, 0.49, 0.55];
    expect(exported(lateBounce, false)).toEqual({ last: 6, stopped: false, kept: 6 });
    expect(exported(lateBounce, true)).toEqual({ last: 6, stopped: false, kept: 5 });
  });

  it("never restores when restore_best_weights is off and the option is not set", () => {
    const cfg = hyperparamsSchema.parse({ earlyStopping: { patience: 2, restoreBestWeights: false } });
    expect(keptEpoch(cfg, true, 2, 4)).toBe(4);
    expect(
      keptEpoch({ ...cfg, earlyStopping: { ...cfg.earlyStopping, restoreBestAlways: true } }, false, 2, 4),
    ).toBe(2);
  });
});

describe("setLearningRate", () => {
  // Momentum steps with a scalar that only its own setter updates: one-cycle SGD once ran at
  // its peak from the first batch.
  it.each([
    ["Nesterov momentum", () => tf.train.momentum(0.5, 0.9, true), 0.1 * 1.9 * 2],
    ["Adam", () => tf.train.adam(0.5), 0.1],
  ])("changes the step %s takes", (_name, make, firstStep) => {
    const optimizer = make();
    const v = tf.variable(tf.scalar(1));
    setLearningRate(optimizer, 0.1);
    optimizer.minimize(() => v.square() as tf.Scalar);
    expect(v.dataSync()[0]).toBeCloseTo(1 - firstStep, 5);
    tf.dispose([v]);
    optimizer.dispose();
  });
});
