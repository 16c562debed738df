// relu(conv2d(x, filter) + bias) in training as one native forward kernel and one native pass
// for the ReLU's and the bias's gradients. tfjs fuses the three only outside gradient tapes: in
// training it runs Conv2D, a broadcast Add and Relu, then Step, Multiply and a Sum backwards,
// each a full pass over the activations on wasm's one thread.
import * as tf from "@tensorflow/tfjs";
import type { NativeKernels } from "./native-module";
import { type KernelFunc, makeOutputs, replaceKernel, type TensorInfo } from "./wasm-kernels";

const CONV_BIAS_RELU = "LabbookConv2DBiasRelu";
const RELU_BIAS_GRAD = "LabbookReluBiasGrad";

/** Whether the active backend has the kernel (wasm with one of Labbook's addons). */
export const hasConvBiasRelu = () => tf.getKernel(CONV_BIAS_RELU, tf.getBackend()) !== undefined;

/** relu(conv2d(x, filter, strides, pad) + bias), NHWC, no dilation. */
export function convBiasRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: [number, number],
  pad: "same" | "valid",
): tf.Tensor4D {
  return tf
    .engine()
    .runKernel(
      CONV_BIAS_RELU,
      { x, filter, bias },
      { strides, pad, dataFormat: "NHWC", dilations: [1, 1], activation: "relu" },
    ) as tf.Tensor4D;
}

function reluBiasGrad(native: NativeKernels): KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, y } = inputs as Record<string, TensorInfo>;
    const out = y as TensorInfo;
    const channels = out.shape.at(-1) ?? 0;
    if (channels < 1 || out.dtype !== "float32" || (dy as TensorInfo).dtype !== "float32")
      throw new Error(`${RELU_BIAS_GRAD} needs float32 NHWC tensors`);
    const { outputs, views } = makeOutputs(backend, [out.shape, [channels]]);
    const [masked, dbias] = views;
    native.reluBiasGrad(
      channels,
      backend.typedArrayFromHeap(dy as TensorInfo),
      backend.typedArrayFromHeap(out),
      masked as Float32Array,
      dbias as Float32Array,
    );
    return outputs as unknown as TensorInfo;
  };
}

let gradientRegistered = false;

/** Registers the kernels on the wasm backend (`fusedConv` is its native FusedConv2D) and the gradient. */
export function installConvBiasRelu(native: NativeKernels, fusedConv: KernelFunc): void {
  replaceKernel(CONV_BIAS_RELU, () => fusedConv);
  replaceKernel(RELU_BIAS_GRAD, () => reluBiasGrad(native));
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: CONV_BIAS_RELU,
    inputsToSave: ["x", "filter"],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved as tf.Tensor[];
      const [masked, dbias] = tf
        .engine()
        .runKernel(RELU_BIAS_GRAD, { dy: dy as tf.Tensor, y: y as tf.Tensor }) as unknown as tf.Tensor[];
      const conv = { strides: attrs.strides as number[], pad: attrs.pad as string, dataFormat: "NHWC" };
      // Lazy: the first layer's input needs no gradient.
      return {
        x: () =>
          tf
            .engine()
            .runKernel(
              "Conv2DBackpropInput",
              { dy: masked as tf.Tensor, filter: filter as tf.Tensor },
              { ...conv, inputShape: (x as tf.Tensor).shape },
            ) as tf.Tensor,
        filter: () =>
          tf
            .engine()
            .runKernel(
              "Conv2DBackpropFilter",
              { x: x as tf.Tensor, dy: masked as tf.Tensor },
              { ...conv, filterShape: (filter as tf.Tensor).shape },
            ) as tf.Tensor,
        bias: () => dbias as tf.Tensor,
      };
    },
  });
}
