// Convolutions for the wasm backend computed by one of Labbook's native addons, on the tensors
// in place in the wasm heap: oneDNN's (libtorch's, split across threads) or im2col + OpenBLAS
// sgemm; and BatchNorm, MaxPool and its gradient in C++. wasm SIMD is 128 bits wide and
// single-threaded, so this is several times faster on x86. The addons are optional
// (scripts/build-native.ts); outside their case (dilation, NCHW, other activations) each kernel
// falls back to the one registered before it.
import * as tf from "@tensorflow/tfjs";
import { installNativeAugment } from "./native-augment";
import { installBatchNormTraining } from "./native-batchnorm";
import { installConvBiasRelu } from "./native-conv-relu";
import { loadNativeKernels, type NativeKernels, type NativeLibrary } from "./native-module";
import { installNativeRegularizers } from "./native-regularizers";
import {
  convInfo,
  type KernelFunc,
  makeOutputs,
  poolInfo,
  replaceKernel,
  type TensorInfo,
} from "./wasm-kernels";

/** The forward convolution's geometry, as the addon takes it; null outside the native case. */
export function geometryOf(info: tf.backend_util.Conv2DInfo): Int32Array | null {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.dataFormat !== "channelsLast")
    return null;
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ]);
}

const filterKeys = new WeakMap<object, number>();
let nextFilterKey = 0;

/**
 * A key for the filter's values outside gradient tapes (predict, evaluate), where the same
 * weights come back call after call: the addon then keeps them in oneDNN's layout instead of
 * reordering them each time (most of one image's prediction). A tensor's values never change and
 * its dataId is never reused, so a key never names other values. In training the weights change
 * every step: -1.
 */
function filterKey(filter: TensorInfo): number {
  if ((tf.engine().state as { gradientDepth: number }).gradientDepth > 0) return -1;
  let key = filterKeys.get(filter.dataId);
  if (key === undefined) {
    key = nextFilterKey++;
    filterKeys.set(filter.dataId, key);
  }
  return key;
}

const allFloat = (...infos: (TensorInfo | undefined)[]) =>
  infos.every((info) => info === undefined || info.dtype === "float32");

function forward(native: NativeKernels, fused: boolean) {
  return (previous: KernelFunc | null): KernelFunc =>
    (args) => {
      const { inputs, backend, attrs } = args;
      const { x, filter, bias, preluActivationWeights } = inputs as Record<string, TensorInfo | undefined>;
      const activation = fused ? ((attrs.activation as string | undefined) ?? "linear") : "linear";
      const info = convInfo((x as TensorInfo).shape, (filter as TensorInfo).shape, attrs);
      const geometry = geometryOf(info);
      const supported =
        geometry &&
        allFloat(x, filter, bias) &&
        !preluActivationWeights &&
        (activation === "linear" || activation === "relu") &&
        (!bias || tf.util.sizeFromShape(bias.shape) === info.outChannels);
      if (!supported) return fallback(previous, args);
      // makeOutput may grow the heap, which detaches older views: take views after it.
      const out = backend.makeOutput(
        [info.batchSize, info.outHeight, info.outWidth, info.outChannels],
        "float32",
      );
      native.conv2d(
        geometry,
        backend.typedArrayFromHeap(x as TensorInfo),
        backend.typedArrayFromHeap(filter as TensorInfo),
        bias ? backend.typedArrayFromHeap(bias) : null,
        activation === "relu",
        backend.typedArrayFromHeap(out),
        filterKey(filter as TensorInfo),
      );
      return out;
    };
}

/**
 * A gradient kernel of two inputs, named by `names`: `forward` gives the forward op's geometry
 * and the output's shape; `run` is the addon's function for it.
 */
function gradient(
  names: [string, string],
  forward: (
    a: TensorInfo,
    b: TensorInfo,
    attrs: Record<string, unknown>,
  ) => { info: tf.backend_util.Conv2DInfo; out: number[] },
  run: (geometry: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array) => void,
) {
  return (previous: KernelFunc | null): KernelFunc =>
    (args) => {
      const { inputs, backend, attrs } = args;
      const [a, b] = names.map((name) => inputs[name] as TensorInfo) as [TensorInfo, TensorInfo];
      const shape = forward(a, b, attrs);
      const geometry = geometryOf(shape.info);
      if (!geometry || !allFloat(a, b)) return fallback(previous, args);
      const out = backend.makeOutput(shape.out, "float32");
      run(
        geometry,
        backend.typedArrayFromHeap(a),
        backend.typedArrayFromHeap(b),
        backend.typedArrayFromHeap(out),
      );
      return out;
    };
}

/** MaxPool on the library's threads (wasm's is XNNPACK's, on one). */
function maxPool(native: NativeKernels) {
  return (previous: KernelFunc | null): KernelFunc =>
    (args) => {
      const { inputs, backend, attrs } = args;
      const x = inputs.x as TensorInfo;
      const info = poolInfo(x.shape, attrs);
      const geometry = geometryOf(info);
      if (!geometry || !allFloat(x) || x.shape.length !== 4) return fallback(previous, args);
      const out = backend.makeOutput(
        [info.batchSize, info.outHeight, info.outWidth, info.outChannels],
        "float32",
      );
      native.maxPool(geometry, backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out));
      return out;
    };
}

/** BatchNorm over the last axis with per-channel statistics: one pass, on the library's threads. */
function batchNorm(native: NativeKernels) {
  return (previous: KernelFunc | null): KernelFunc =>
    (args) => {
      const { inputs, backend, attrs } = args;
      const { x, mean, variance, offset, scale } = inputs as Record<string, TensorInfo | undefined>;
      const channels = (x as TensorInfo).shape.at(-1) ?? 0;
      const perChannel = (t?: TensorInfo) => !t || tf.util.sizeFromShape(t.shape) === channels;
      if (
        channels < 1 ||
        !mean ||
        !variance ||
        !allFloat(x, mean, variance, offset, scale) ||
        ![mean, variance, offset, scale].every(perChannel)
      )
        return fallback(previous, args);
      const out = backend.makeOutput((x as TensorInfo).shape, "float32");
      native.batchNorm(
        channels,
        backend.typedArrayFromHeap(x as TensorInfo),
        backend.typedArrayFromHeap(mean),
        backend.typedArrayFromHeap(variance),
        scale ? backend.typedArrayFromHeap(scale) : null,
        offset ? backend.typedArrayFromHeap(offset) : null,
        Number(attrs.varianceEpsilon ?? 0.001),
        backend.typedArrayFromHeap(out),
      );
      return out;
    };
}

/** Labbook's own kernel: one variable's Adam step into three new tensors (native-optimizers.ts). */
export const ADAM_KERNEL = "LabbookAdamStep";
/** One variable's step of SGD with momentum into two new tensors (native-optimizers.ts). */
export const MOMENTUM_KERNEL = "LabbookMomentumStep";

function momentumStep(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { value, accumulation, gradient } = inputs as Record<string, TensorInfo>;
    const shape = (value as TensorInfo).shape;
    const { outputs, views } = makeOutputs(backend, [shape, shape]);
    const [newValue, newAccumulation] = views;
    native.momentum(
      Float32Array.from(attrs.step as number[]),
      backend.typedArrayFromHeap(value as TensorInfo),
      backend.typedArrayFromHeap(accumulation as TensorInfo),
      backend.typedArrayFromHeap(gradient as TensorInfo),
      newValue as Float32Array,
      newAccumulation as Float32Array,
    );
    return outputs as unknown as TensorInfo;
  };
}

function adamStep(native: NativeKernels): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { value, m, v, gradient } = inputs as Record<string, TensorInfo>;
    const shape = (value as TensorInfo).shape;
    const { outputs, views } = makeOutputs(backend, [shape, shape, shape]);
    const [newValue, newM, newV] = views;
    native.adam(
      Float32Array.from(attrs.step as number[]),
      backend.typedArrayFromHeap(value as TensorInfo),
      backend.typedArrayFromHeap(m as TensorInfo),
      backend.typedArrayFromHeap(v as TensorInfo),
      backend.typedArrayFromHeap(gradient as TensorInfo),
      newValue as Float32Array,
      newM as Float32Array,
      newV as Float32Array,
    );
    return outputs as unknown as TensorInfo;
  };
}

/** Whether this process's wasm backend has the native kernels. */
export const hasNativeKernels = () => installed !== null;

/** The addon this process's wasm backend computes with, or null. */
export const installedNativeKernels = (): NativeKernels | null => installed;

function fallback(previous: KernelFunc | null, args: Parameters<KernelFunc>[0]): TensorInfo {
  if (!previous) throw new Error("no wasm kernel to fall back on for this convolution");
  return previous(args);
}

let installed: NativeKernels | null = null;

/**
 * Registers the convolutions of the addon built on `library` on the wasm backend, over Labbook's
 * wasm kernels (install those first: they stay as the fallback), with `threads` threads. One
 * library per process: tfjs' kernel registry is global.
 */
export function installNativeConvKernels(library: NativeLibrary, threads = 1): NativeKernels {
  if (installed) {
    const current = installed.describe().library;
    if (current !== library) throw new Error(`the ${current} kernels are already installed`);
    installed.setThreads(threads);
    return installed;
  }
  const native = loadNativeKernels(library);
  native.setThreads(threads);
  replaceKernel("Conv2D", forward(native, false));
  replaceKernel("FusedConv2D", forward(native, true));
  replaceKernel(
    "Conv2DBackpropInput",
    gradient(
      ["dy", "filter"],
      (_dy, filter, attrs) => {
        const x = attrs.inputShape as number[];
        return { info: convInfo(x, filter.shape, attrs), out: x };
      },
      (geometry, dy, filter, dx) => native.conv2dBackpropInput(geometry, dy, filter, dx),
    ),
  );
  replaceKernel(
    "Conv2DBackpropFilter",
    gradient(
      ["x", "dy"],
      (x, _dy, attrs) => {
        const filter = attrs.filterShape as number[];
        return { info: convInfo(x.shape, filter, attrs), out: filter };
      },
      (geometry, x, dy, dw) => native.conv2dBackpropFilter(geometry, x, dy, dw),
    ),
  );
  // A pooling's geometry is a convolution's with outChannels = inChannels.
  replaceKernel("MaxPool", maxPool(native));
  replaceKernel(
    "MaxPoolGrad",
    gradient(
      ["input", "dy"],
      (input, _dy, attrs) => ({ info: poolInfo(input.shape, attrs), out: input.shape }),
      (geometry, x, dy, dx) => native.maxPoolGrad(geometry, x, dy, dx),
    ),
  );
  replaceKernel("FusedBatchNorm", batchNorm(native));
  replaceKernel(ADAM_KERNEL, () => adamStep(native));
  replaceKernel(MOMENTUM_KERNEL, () => momentumStep(native));
  installBatchNormTraining(native);
  installNativeRegularizers(native);
  installNativeAugment(native);
  installConvBiasRelu(native, tf.getKernel("FusedConv2D", "wasm").kernelFunc as unknown as KernelFunc);
  installed = native;
  return native;
}
