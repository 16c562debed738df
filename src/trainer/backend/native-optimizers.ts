// Adam and SGD with momentum as one native kernel call per variable where the native kernels
// are installed: tfjs' Adam runs about 13 small kernels per variable (some 450 a step for the
// seed network, a tenth of its time on wasm), its momentum optimizer about 6. The same
// arithmetic, the same state (and so the same checkpoints); elsewhere, tfjs' own optimizers.
// They also add the L2 penalties' gradients (decay · value) that takeL2Gradients hands them:
// through the tape, each penalty cost two multiplies and an add of the weight's size a step,
// on one thread.
import * as tf from "@tensorflow/tfjs";
import { ADAM_KERNEL, hasNativeKernels, MOMENTUM_KERNEL } from "./native-conv";

const nativeHere = () => hasNativeKernels() && tf.getBackend() === "wasm";

const gradientOf = (
  variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  name: string,
  i: number,
) => (Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name]);

const namesOf = (variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]) =>
  Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);

/** Variable name → decay (2 · l2): the L2 gradients an optimizer adds itself. */
export type Decays = ReadonlyMap<string, number>;

/** The optimizers here that add L2 gradients; tfjs' own do not. */
export interface DecayingOptimizer {
  decays: Decays;
}

/** Adam's settings as tfjs' AdamOptimizer keeps them (private in its typings). */
export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * The addon's Adam step values, [lr, β1, β2, ε, 1 − β1^t, 1 − β2^t, decay], from β^t as tfjs
 * keeps them (accBeta1, accBeta2); the native step builds them here too.
 */
export const adamStepValues = (o: AdamSettings, accBeta1: number, accBeta2: number, decay: number) => [
  o.learningRate,
  o.beta1,
  o.beta2,
  o.epsilon,
  1 - accBeta1,
  1 - accBeta2,
  decay,
];

/** Momentum's settings as tfjs' MomentumOptimizer keeps them. */
export interface MomentumSettings {
  learningRate: number;
  momentum: number;
  useNesterov: boolean;
}

/** The addon's momentum step values, [lr, momentum, nesterov ? 1 : 0, decay]. */
export const momentumStepValues = (o: MomentumSettings, decay: number) => [
  o.learningRate,
  o.momentum,
  o.useNesterov ? 1 : 0,
  decay,
];

class NativeAdamOptimizer extends tf.AdamOptimizer implements DecayingOptimizer {
  decays: Decays = new Map();

  override applyGradients(
    variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  ): void {
    const names = namesOf(variableGradients);
    const self = this as unknown as AdamSettings & {
      accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
      accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
      accBeta1: tf.Variable;
      accBeta2: tf.Variable;
      incrementIterations(): void;
    };
    const accBeta1 = self.accBeta1.dataSync()[0] as number;
    const accBeta2 = self.accBeta2.dataSync()[0] as number;
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name] as tf.Variable;
        self.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        self.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = gradientOf(variableGradients, name, i);
        if (!gradient) return;
        const m = self.accumulatedFirstMoment[i].variable;
        const v = self.accumulatedSecondMoment[i].variable;
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(
            ADAM_KERNEL,
            { value, m, v, gradient },
            { step: adamStepValues(self, accBeta1, accBeta2, this.decays.get(name) ?? 0) },
          ) as tf.Tensor[];
        m.assign(newM as tf.Tensor);
        v.assign(newV as tf.Tensor);
        value.assign(newValue as tf.Tensor);
      });
      self.accBeta1.assign(self.accBeta1.mul(self.beta1));
      self.accBeta2.assign(self.accBeta2.mul(self.beta2));
    });
    self.incrementIterations();
  }
}

/** Adam on the native kernels when this process has them, else tfjs' own. */
export function adamOptimizer(
  learningRate: number,
  beta1: number,
  beta2: number,
  epsilon: number,
): tf.Optimizer {
  return nativeHere()
    ? new NativeAdamOptimizer(learningRate, beta1, beta2, epsilon)
    : tf.train.adam(learningRate, beta1, beta2, epsilon);
}

class NativeMomentumOptimizer extends tf.MomentumOptimizer implements DecayingOptimizer {
  decays: Decays = new Map();

  override applyGradients(
    variableGradients: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[],
  ): void {
    const self = this as unknown as MomentumSettings & {
      accumulations: { originalName: string; variable: tf.Variable }[];
      incrementIterations(): void;
    };
    tf.tidy(() => {
      namesOf(variableGradients).forEach((name, i) => {
        const value = tf.engine().registeredVariables[name] as tf.Variable;
        self.accumulations[i] ??= {
          originalName: `${name}/momentum`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        const gradient = gradientOf(variableGradients, name, i);
        if (!gradient) return;
        const accumulation = self.accumulations[i].variable;
        const [newValue, newAccumulation] = tf
          .engine()
          .runKernel(
            MOMENTUM_KERNEL,
            { value, accumulation, gradient },
            { step: momentumStepValues(self, this.decays.get(name) ?? 0) },
          ) as tf.Tensor[];
        accumulation.assign(newAccumulation as tf.Tensor);
        value.assign(newValue as tf.Tensor);
      });
    });
    self.incrementIterations();
  }
}

// Not instanceof: tfjs' Optimizer answers it by duck typing, true for every optimizer.
export const addsDecay = (optimizer: tf.Optimizer): optimizer is tf.Optimizer & DecayingOptimizer =>
  "decays" in optimizer;

/** SGD with (Nesterov's) momentum on the native kernels when this process has them, else tfjs' own. */
export function momentumOptimizer(
  learningRate: number,
  momentum: number,
  useNesterov: boolean,
): tf.Optimizer {
  return nativeHere()
    ? new NativeMomentumOptimizer(learningRate, momentum, useNesterov)
    : tf.train.momentum(learningRate, momentum, useNesterov);
}
