// Loads one of Labbook's native kernel addons (src/trainer/backend/native, built by
// scripts/build-native.ts): the convolutions on oneDNN (libtorch's, on ATen's threads) or on
// OpenBLAS. Kept free of tfjs so scripts can import it cheaply.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export const NATIVE_DIR = path.resolve(import.meta.dirname, "native");
export const NATIVE_BUILD_DIR = path.join(NATIVE_DIR, "build");

/** The libraries an addon can be built on, fastest first. */
export const NATIVE_LIBRARIES = ["libtorch", "openblas"] as const;
export type NativeLibrary = (typeof NATIVE_LIBRARIES)[number];

export const nativeModulePath = (library: NativeLibrary) =>
  path.join(NATIVE_BUILD_DIR, "Release", `labbook_${library}.node`);

/** What each library needs from Debian, for the message when its addon is missing. */
export const NATIVE_PACKAGES: Record<NativeLibrary, string> = {
  libtorch: "libtorch-dev libdnnl-dev",
  openblas: "libopenblas-dev pkg-config",
};

export interface NativeKernels {
  conv2d(
    geometry: Int32Array,
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    relu: boolean,
    y: Float32Array,
    /** Names the filter's values for good (≥ 0), or -1: see filterKey in native-conv.ts. */
    filterKey: number,
  ): void;
  conv2dBackpropInput(geometry: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  conv2dBackpropFilter(geometry: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  /** MaxPool; the pooling's geometry in the convolution's layout, with cout = cin. */
  maxPool(geometry: Int32Array, x: Float32Array, y: Float32Array): void;
  /** The pooling's geometry in the convolution's layout, with cout = cin. */
  maxPoolGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  batchNorm(
    channels: number,
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    epsilon: number,
    y: Float32Array,
  ): void;
  /** BatchNorm in training: writes y and the batch's per-channel mean and (biased) variance. */
  batchNormTraining(
    channels: number,
    x: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    epsilon: number,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  /** Its gradient through the batch statistics: dx, Σ dy·x̂ (dscale) and Σ dy (doffset). */
  batchNormTrainingGrad(
    channels: number,
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    epsilon: number,
    dx: Float32Array,
    dscale: Float32Array | null,
    doffset: Float32Array | null,
  ): void;
  /** The gradients of relu(conv + bias) before the convolution's: dy where y > 0, and Σ of that per channel. */
  reluBiasGrad(
    channels: number,
    dy: Float32Array,
    y: Float32Array,
    dyMasked: Float32Array,
    dbias: Float32Array,
  ): void;
  /** BatchNorm's moving statistics after a step: moving − (moving − batch)·(1 − momentum). */
  movingAverage(momentum: number, moving: Float32Array, batch: Float32Array, updated: Float32Array): void;
  /** Dropout in training: mask = 1/(1 − rate) or 0, drawn from `seed` (a whole number below 2^53), y = x·mask. */
  dropout(rate: number, seed: number, x: Float32Array, y: Float32Array, mask: Float32Array): void;
  /** Σ x², in double precision. */
  sumOfSquares(x: Float32Array): number;
  /**
   * Augments images [n, h, w, c]: n projective transforms (8 values each), fillMode 0 constant,
   * 1 reflect, 2 wrap, 3 nearest; then Keras' channel shift and brightness where given.
   */
  augment(
    shape: Int32Array,
    images: Float32Array,
    matrices: Float32Array,
    fillMode: number,
    channelShift: Float32Array | null,
    brightness: Float32Array | null,
    out: Float32Array,
  ): void;
  /** One Adam step: step = [lr, beta1, beta2, epsilon, 1 − beta1^t, 1 − beta2^t, decay]; decay·value joins the gradient. */
  adam(
    step: Float32Array,
    value: Float32Array,
    m: Float32Array,
    v: Float32Array,
    gradient: Float32Array,
    newValue: Float32Array,
    newM: Float32Array,
    newV: Float32Array,
  ): void;
  /** One SGD-with-momentum step: step = [lr, momentum, nesterov ? 1 : 0, decay]; decay·value joins the gradient. */
  momentum(
    step: Float32Array,
    value: Float32Array,
    accumulation: Float32Array,
    gradient: Float32Array,
    newValue: Float32Array,
    newAccumulation: Float32Array,
  ): void;
  setThreads(threads: number): void;
  /** loopThreads: how many threads the kernels' own loops run on (OpenBLAS': one). */
  describe(): { library: NativeLibrary; threads: number; loopThreads: number; detail: string };
}

/** Loads the addon built on `library`, or throws saying how to build it. */
export function loadNativeKernels(library: NativeLibrary): NativeKernels {
  const file = nativeModulePath(library);
  if (!existsSync(file))
    throw new Error(
      `native kernels on ${library} not built (apt-get install ${NATIVE_PACKAGES[library]}, then npm run build:native)`,
    );
  if (library === "openblas") chooseOpenBlasCore();
  return createRequire(import.meta.url)(file) as NativeKernels;
}

/**
 * OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its SSE3
 * kernels, 3-5x slower. Unless the user chose one, name the core from the CPU's own flags
 * before the library loads (it reads OPENBLAS_CORETYPE once, at load).
 */
function chooseOpenBlasCore(): void {
  if (process.env.OPENBLAS_CORETYPE || process.arch !== "x64" || !existsSync("/proc/cpuinfo")) return;
  const flags = new Set(
    readFileSync("/proc/cpuinfo", "utf8")
      .match(/^flags\s*:(.*)$/m)?.[1]
      ?.trim()
      .split(/\s+/),
  );
  const has = (...names: string[]) => names.every((name) => flags.has(name));
  if (has("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"))
    process.env.OPENBLAS_CORETYPE = "SkylakeX";
  else if (has("avx2", "fma")) process.env.OPENBLAS_CORETYPE = "Haswell";
}
