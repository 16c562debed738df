// BatchNorm in training as two kernels of Labbook's addon on the wasm backend: the forward pass
// (the batch's moments, then the normalisation) and its whole gradient, in five passes over the
// tensor on the addon's threads. tfjs builds the same from moments, batchNorm and their
// gradients: about a dozen full-size kernels per layer and step, all on wasm's one thread.
import * as tf from "@tensorflow/tfjs";
import type { NativeKernels } from "./native-module";
import { type KernelFunc, makeOutputs, replaceKernel, type TensorInfo } from "./wasm-kernels";

export const BATCH_NORM_TRAINING = "LabbookBatchNormTraining";
const BATCH_NORM_TRAINING_GRAD = "LabbookBatchNormTrainingGrad";
const MOVING_AVERAGES = "LabbookBatchNormMovingAverages";

/** Whether the active backend has the kernel (wasm with one of Labbook's addons). */
export const hasBatchNormTraining = () => tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) !== undefined;

/**
 * BatchNorm over the last axis with the batch's own statistics: [y, mean, variance], as tfjs
 * layers' normalizeBatchInTraining gives them (biased variance). Only y carries a gradient; the
 * statistics are for the moving averages.
 */
export function batchNormInTraining(
  x: tf.Tensor,
  scale: tf.Tensor,
  offset: tf.Tensor,
  epsilon: number,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale, offset }, { epsilon }) as unknown as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
}

/**
 * The moving mean and variance after a training step, in one kernel (tfjs' layer runs six):
 * moving − (moving − batch)·(1 − momentum), as the stock layer updates them.
 */
export function movingAverages(
  moving: { mean: tf.Tensor; variance: tf.Tensor },
  batch: { mean: tf.Tensor; variance: tf.Tensor },
  momentum: number,
): [tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(
    MOVING_AVERAGES,
    {
      movingMean: moving.mean,
      movingVariance: moving.variance,
      mean: batch.mean,
      variance: batch.variance,
    },
    { momentum },
  ) as unknown as [tf.Tensor, tf.Tensor];
}

function channelsOf(x: TensorInfo, ...perChannel: TensorInfo[]): number {
  const channels = x.shape.at(-1) ?? 0;
  const ok =
    channels > 0 &&
    [x, ...perChannel].every((t) => t.dtype === "float32") &&
    perChannel.every((t) => tf.util.sizeFromShape(t.shape) === channels);
  if (!ok) throw new Error(`${BATCH_NORM_TRAINING} needs float32 tensors and per-channel statistics`);
  return channels;
}

function forward(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, scale, offset } = inputs as Record<string, TensorInfo>;
    const input = x as TensorInfo;
    const channels = channelsOf(input, scale as TensorInfo, offset as TensorInfo);
    const { outputs, views } = makeOutputs(backend, [input.shape, [channels], [channels]]);
    const [y, mean, variance] = views;
    native.batchNormTraining(
      channels,
      backend.typedArrayFromHeap(input),
      backend.typedArrayFromHeap(scale as TensorInfo),
      backend.typedArrayFromHeap(offset as TensorInfo),
      Number(attrs.epsilon),
      y as Float32Array,
      mean as Float32Array,
      variance as Float32Array,
    );
    return outputs as unknown as TensorInfo;
  };
}

function gradient(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, x, mean, variance, scale } = inputs as Record<string, TensorInfo>;
    const input = x as TensorInfo;
    const channels = channelsOf(input, mean as TensorInfo, variance as TensorInfo, scale as TensorInfo);
    const { outputs, views } = makeOutputs(backend, [input.shape, [channels], [channels]]);
    const [dx, dscale, doffset] = views;
    const heap = (t: TensorInfo | undefined) => backend.typedArrayFromHeap(t as TensorInfo);
    native.batchNormTrainingGrad(
      channels,
      heap(dy),
      heap(input),
      heap(mean),
      heap(variance),
      heap(scale),
      Number(attrs.epsilon),
      dx as Float32Array,
      dscale as Float32Array,
      doffset as Float32Array,
    );
    return outputs as unknown as TensorInfo;
  };
}

function updateMovingAverages(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { movingMean, movingVariance, mean, variance } = inputs as Record<string, TensorInfo>;
    const channels = channelsOf(
      movingMean as TensorInfo,
      movingVariance as TensorInfo,
      mean as TensorInfo,
      variance as TensorInfo,
    );
    const { outputs, views } = makeOutputs(backend, [[channels], [channels]]);
    const heap = (t: TensorInfo | undefined) => backend.typedArrayFromHeap(t as TensorInfo);
    const momentum = Number(attrs.momentum);
    native.movingAverage(momentum, heap(movingMean), heap(mean), views[0] as Float32Array);
    native.movingAverage(momentum, heap(movingVariance), heap(variance), views[1] as Float32Array);
    return outputs as unknown as TensorInfo;
  };
}

let gradientRegistered = false;

/** Registers both kernels on the wasm backend, and the forward kernel's gradient (once). */
export function installBatchNormTraining(native: NativeKernels): void {
  replaceKernel(BATCH_NORM_TRAINING, () => forward(native));
  replaceKernel(BATCH_NORM_TRAINING_GRAD, () => gradient(native));
  replaceKernel(MOVING_AVERAGES, () => updateMovingAverages(native));
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ["x", "scale"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const dy = Array.isArray(dys) ? (dys[0] as tf.Tensor) : dys;
      const [x, scale, mean, variance] = saved as tf.Tensor[];
      const [dx, dscale, doffset] = tf
        .engine()
        .runKernel(
          BATCH_NORM_TRAINING_GRAD,
          { dy, x, mean, variance, scale } as tf.NamedTensorMap,
          attrs,
        ) as unknown as tf.Tensor[];
      return {
        x: () => dx as tf.Tensor,
        scale: () => dscale as tf.Tensor,
        offset: () => doffset as tf.Tensor,
      };
    },
  });
}
