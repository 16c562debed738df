// Dropout and the L2 penalty as kernels of Labbook's addon on the wasm backend. tfjs draws
// dropout's uniform numbers in JS (about 10 ms a step for this network) and builds the mask from
// four more kernels; its L2 penalty is Square, Multiply and Sum forwards, and backwards three
// full-size multiplies plus a tensor of ones filled in JS, for every regularised weight.
import * as tf from "@tensorflow/tfjs";
import type { NativeKernels } from "./native-module";
import { type KernelFunc, makeOutputs, replaceKernel, type TensorInfo } from "./wasm-kernels";

const DROPOUT = "LabbookDropout";
const L2_PENALTY = "LabbookL2Penalty";

/** Whether the active backend has the kernels (wasm with one of Labbook's addons). */
export const hasNativeRegularizers = () => tf.getKernel(DROPOUT, tf.getBackend()) !== undefined;

/**
 * A fresh mask's seed, as tfjs' unseeded dropout draws a fresh mask every call (the generator is
 * the addon's). The native training step draws its seeds here too, so both paths drop the same
 * units from the same Math.random.
 */
export const dropoutSeed = () => Math.floor(Math.random() * 2 ** 53);

/** x with each element kept with probability 1 − rate and scaled by 1/(1 − rate), as tf.dropout. */
export function dropoutInTraining(x: tf.Tensor, rate: number): tf.Tensor {
  const seed = dropoutSeed();
  // A custom gradient keeps the mask off the tape: as the kernel's second output, it had no
  // gradient flowing in, and tfjs filled a full-size tensor of zeros in JS for it every step.
  const forward = (input: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mask] = tf.engine().runKernel(DROPOUT, { x: input }, { rate, seed }) as unknown as [
      tf.Tensor,
      tf.Tensor,
    ];
    save([mask]);
    return { value: y, gradFunc: (dy: tf.Tensor, [kept]: tf.Tensor[]) => tf.mul(dy, kept as tf.Tensor) };
  };
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(x);
}

/** l2 · Σ x², a scalar. */
export function l2Penalty(x: tf.Tensor, l2: number): tf.Scalar {
  return tf.engine().runKernel(L2_PENALTY, { x }, { l2 }) as tf.Scalar;
}

let installed: NativeKernels | null = null;

/** l2 · Σ x² as a value off the gradient tape, for an optimizer that adds its gradient itself. */
export function l2PenaltyValue(x: tf.Tensor, l2: number): tf.Scalar {
  if (!installed || !hasNativeRegularizers()) throw new Error("the native regularizers are not installed");
  const backend = tf.backend() as unknown as { typedArrayFromHeap(x: TensorInfo): Float32Array };
  return tf.scalar(l2 * installed.sumOfSquares(backend.typedArrayFromHeap(float32(L2_PENALTY, x))));
}

function float32(name: string, x: TensorInfo): TensorInfo {
  if (x.dtype !== "float32") throw new Error(`${name} needs a float32 tensor`);
  return x;
}

function dropout(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = float32(DROPOUT, inputs.x as TensorInfo);
    const { outputs, views } = makeOutputs(backend, [x.shape, x.shape]);
    const [y, mask] = views;
    native.dropout(
      Number(attrs.rate),
      Number(attrs.seed),
      backend.typedArrayFromHeap(x),
      y as Float32Array,
      mask as Float32Array,
    );
    return outputs as unknown as TensorInfo;
  };
}

function penalty(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = float32(L2_PENALTY, inputs.x as TensorInfo);
    const out = backend.makeOutput([], "float32");
    const sum = native.sumOfSquares(backend.typedArrayFromHeap(x));
    backend.typedArrayFromHeap(out)[0] = Number(attrs.l2) * sum;
    return out;
  };
}

let gradientsRegistered = false;

/** Registers both kernels on the wasm backend, and the penalty's gradient (once). */
export function installNativeRegularizers(native: NativeKernels): void {
  installed = native;
  replaceKernel(DROPOUT, () => dropout(native));
  replaceKernel(L2_PENALTY, () => penalty(native));
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  tf.registerGradient({
    kernelName: L2_PENALTY,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.mul(x as tf.Tensor, tf.mul(dy as tf.Tensor, 2 * Number(attrs.l2))) };
    },
  });
}
