// Fast gradient kernels for the wasm backend, built from its XNNPACK-backed forward Conv2D,
// BatchMatMul, AvgPool and Transpose through public tfjs APIs. Each replaces a missing, slow
// or wrong stock kernel, and falls back to a plain implementation outside the case it speeds.
import * as tf from "@tensorflow/tfjs";

export type TensorInfo = tf.TensorInfo;
type NamedAttrs = Record<string, unknown>;
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
}
interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackend;
  attrs: NamedAttrs;
}
export type KernelFunc = (args: KernelArgs) => TensorInfo;

/**
 * Float32 outputs of the given shapes and their heap views, for a kernel with several outputs.
 * The views are taken after every makeOutput: growing the heap detaches older ones.
 */
export function makeOutputs(
  backend: WasmBackend,
  shapes: number[][],
): { outputs: TensorInfo[]; views: Float32Array[] } {
  const outputs = shapes.map((shape) => backend.makeOutput(shape, "float32"));
  return { outputs, views: outputs.map((out) => backend.typedArrayFromHeap(out)) };
}

const BACKEND = "wasm";

function stockKernel(name: string): KernelFunc | null {
  return (tf.getKernel(name, BACKEND)?.kernelFunc as unknown as KernelFunc | undefined) ?? null;
}

/** Runs other wasm kernels, disposing every intermediate except the returned result. */
class Scope {
  private readonly made: TensorInfo[] = [];
  constructor(readonly backend: WasmBackend) {}

  run(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrs = {}): TensorInfo {
    const kernel = stockKernel(name);
    if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
    const out = kernel({ inputs, backend: this.backend, attrs });
    this.made.push(out);
    return out;
  }

  make(shape: number[], fill: (values: Float32Array) => void): TensorInfo {
    const out = this.backend.makeOutput(shape, "float32");
    fill(this.backend.typedArrayFromHeap(out));
    this.made.push(out);
    return out;
  }

  /** A stride-1, undilated NHWC forward convolution with explicit padding. */
  conv(
    x: TensorInfo,
    filter: TensorInfo,
    pad: { top: number; bottom: number; left: number; right: number },
  ): TensorInfo {
    const padding = [
      [0, 0],
      [pad.top, pad.bottom],
      [pad.left, pad.right],
      [0, 0],
    ];
    return this.run("Conv2D", { x, filter }, { strides: 1, pad: padding, dataFormat: "NHWC", dilations: 1 });
  }

  /** Disposes the intermediates and returns `result`. */
  keep(result: TensorInfo): TensorInfo {
    for (const info of this.made) if (info.dataId !== result.dataId) this.backend.disposeData(info.dataId);
    return result;
  }
}

export const shape4 = (info: TensorInfo) => info.shape as [number, number, number, number];
const isUnitStride = (strides: unknown) =>
  strides === 1 || (Array.isArray(strides) && strides.every((s) => s === 1));

/** A Conv2D-family kernel's geometry from its attrs (strides, pad, dilations, data format). */
export function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: NamedAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number],
    (attrs.dilations ?? 1) as [number, number],
    attrs.pad as "same",
    attrs.dimRoundingMode as "round" | undefined,
    false,
    tf.backend_util.convertConv2DDataFormat((attrs.dataFormat ?? "NHWC") as "NHWC"),
  );
}

/** A pooling kernel's geometry from its attrs; it has the convolution's fields. */
export function poolInfo(inputShape: number[], attrs: NamedAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    inputShape as [number, number, number, number],
    attrs.filterSize as [number, number],
    attrs.strides as [number, number],
    1,
    attrs.pad as "valid",
    attrs.dimRoundingMode as "round" | undefined,
  );
}

function backpropFilterInfo(x: TensorInfo, attrs: NamedAttrs): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat === "NCHW") throw new Error("Conv2DBackpropFilter on wasm supports NHWC only");
  return convInfo(x.shape, attrs.filterShape as number[], attrs);
}

/** dW by its plain definition: correct for any stride, and slow. */
const conv2dBackpropFilterPlain: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  return conv2dBackpropFilterLoop(backend, x, dy, backpropFilterInfo(x, attrs));
};

/** dW as a forward conv2d: the batch becomes channels, dy becomes the filter. */
const conv2dBackpropFilter: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const info = backpropFilterInfo(x, attrs);
  if (!isUnitStride(attrs.strides)) return conv2dBackpropFilterLoop(backend, x, dy, info);
  const scope = new Scope(backend);
  const xT = scope.run("Transpose", { x }, { perm: [3, 1, 2, 0] }); // [Cin, H, W, B]
  const dyT = scope.run("Transpose", { x: dy }, { perm: [1, 2, 0, 3] }); // [OH, OW, B, Cout]
  const conv = scope.conv(xT, dyT, info.padInfo); // [Cin, fh, fw, Cout]
  return scope.keep(scope.run("Transpose", { x: conv }, { perm: [1, 2, 0, 3] }));
};

/** The plain definition, for strides and layouts the fast path does not cover. */
function conv2dBackpropFilterLoop(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const xs = backend.typedArrayFromHeap(x);
  const dys = backend.typedArrayFromHeap(dy);
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
  } = info;
  const out = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], "float32");
  const dw = backend.typedArrayFromHeap(out);
  dw.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let i = 0; i < filterHeight; i++) {
          const h = oh * info.strideHeight + i * info.dilationHeight - info.padInfo.top;
          if (h < 0 || h >= inHeight) continue;
          for (let j = 0; j < filterWidth; j++) {
            const w = ow * info.strideWidth + j * info.dilationWidth - info.padInfo.left;
            if (w < 0 || w >= inWidth) continue;
            const xBase = ((b * inHeight + h) * inWidth + w) * inChannels;
            const dwBase = (i * filterWidth + j) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xv = xs[xBase + ci] as number;
              const row = dwBase + ci * outChannels;
              for (let co = 0; co < outChannels; co++)
                dw[row + co] = (dw[row + co] as number) + xv * (dys[dyBase + co] as number);
            }
          }
        }
      }
    }
  }
  return out;
}

/** dx as a forward conv2d of dy with the filter rotated 180° and its channels swapped. */
function conv2dBackpropInput(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    if (attrs.dataFormat === "NCHW" || !isUnitStride(attrs.strides)) return stock(args);
    const inputShape = attrs.inputShape as [number, number, number, number];
    const [fh, fw, cin, cout] = shape4(filter);
    const info = convInfo(inputShape, filter.shape, attrs);
    const top = fh - 1 - info.padInfo.top;
    const left = fw - 1 - info.padInfo.left;
    const bottom = inputShape[1] - info.outHeight + fh - 1 - top;
    const right = inputShape[2] - info.outWidth + fw - 1 - left;
    if (Math.min(top, left, bottom, right) < 0) return stock(args);
    const scope = new Scope(backend);
    const taps = fh * fw;
    // Reversing the flattened (i, j) index rotates the kernel by 180°; an anti-diagonal matMul
    // does that faster than wasm's Reverse or Gather.
    const antiDiagonal = scope.make([1, taps, taps], (v) => {
      v.fill(0);
      for (let k = 0; k < taps; k++) v[k * taps + (taps - 1 - k)] = 1;
    });
    const flat = scope.run("Reshape", { x: filter }, { shape: [1, taps, cin * cout] });
    const rotated = scope.run(
      "BatchMatMul",
      { a: antiDiagonal, b: flat },
      { transposeA: false, transposeB: false },
    );
    const rotated4 = scope.run("Reshape", { x: rotated }, { shape: [fh, fw, cin, cout] });
    const swapped = scope.run("Transpose", { x: rotated4 }, { perm: [0, 1, 3, 2] }); // [fh, fw, Cout, Cin]
    return scope.keep(scope.conv(dy, swapped, { top, bottom, left, right }));
  };
}

/**
 * MaxPoolGrad routing each window's gradient to its first maximum, as the cpu backend and
 * TensorFlow do. The stock wasm kernel starts its running max at the smallest positive float,
 * so windows whose values are all ≤ 0 lose their gradient or send it to the wrong element.
 */
const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const info = poolInfo(input.shape, attrs);
  const xs = backend.typedArrayFromHeap(input);
  const dys = backend.typedArrayFromHeap(dy);
  const out = backend.makeOutput(input.shape, "float32");
  const dx = backend.typedArrayFromHeap(out);
  dx.fill(0);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  // Channels innermost: NHWC keeps each pixel's channels contiguous.
  const best = new Float32Array(channels);
  const bestIndex = new Int32Array(channels);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * info.strideHeight - info.padInfo.top;
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * info.strideWidth - info.padInfo.left;
        bestIndex.fill(-1);
        for (let i = 0; i < info.effectiveFilterHeight; i += info.dilationHeight) {
          const h = h0 + i;
          if (h < 0 || h >= inHeight) continue;
          for (let j = 0; j < info.effectiveFilterWidth; j += info.dilationWidth) {
            const w = w0 + j;
            if (w < 0 || w >= inWidth) continue;
            const base = ((b * inHeight + h) * inWidth + w) * channels;
            for (let c = 0; c < channels; c++) {
              const value = xs[base + c] as number;
              // Strictly greater: the first maximum keeps the gradient.
              if (value > (best[c] as number) || (bestIndex[c] as number) < 0) {
                best[c] = value;
                bestIndex[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * channels;
        for (let c = 0; c < channels; c++) {
          const index = bestIndex[c] as number;
          if (index >= 0) dx[index] = (dx[index] as number) + (dys[dyBase + c] as number);
        }
      }
    }
  }
  return out;
};

const isSpatialReduction = (x: TensorInfo, axis: unknown) => {
  if (x.shape.length !== 4 || x.dtype !== "float32") return false;
  const axes = tf.util.parseAxisParam(axis as number[], x.shape).sort();
  return axes.length === 3 && axes[0] === 0 && axes[1] === 1 && axes[2] === 2;
};

/** Sum or Mean over [0, 1, 2] of an NHWC tensor: a global AvgPool, then a reduction over N. */
function spatialReduction(stock: KernelFunc, kind: "Sum" | "Mean"): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: TensorInfo };
    if (!isSpatialReduction(x, attrs.axis)) return stock(args);
    const [n, h, w, c] = shape4(x);
    const scope = new Scope(backend);
    const pooled = scope.run("AvgPool", { x }, { filterSize: [h, w], strides: [h, w], pad: "valid" });
    const perImage = scope.run("Reshape", { x: pooled }, { shape: [n, c] });
    const keepDims = Boolean(attrs.keepDims);
    const reduced = scope.run(
      kind === "Mean" ? "Mean" : "Sum",
      { x: perImage },
      { axis: [0], keepDims: false },
    );
    let result = reduced;
    if (kind === "Sum") {
      const area = scope.make([], (v) => {
        v[0] = h * w;
      });
      result = scope.run("Multiply", { a: reduced, b: area });
    }
    if (keepDims) result = scope.run("Reshape", { x: result }, { shape: [1, 1, 1, c] });
    return scope.keep(result);
  };
}

/** wasm's BatchMatMul loops naively when asked to transpose: transpose first instead. */
function batchMatMulWithoutFlags(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    if (!attrs.transposeA && !attrs.transposeB) return stock(args);
    const scope = new Scope(backend);
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 1], perm[perm.length - 2]] = [
        perm[perm.length - 2] as number,
        perm[perm.length - 1] as number,
      ];
      return scope.run("Transpose", { x: t }, { perm });
    };
    const a = attrs.transposeA ? swapLast(inputs.a as TensorInfo) : (inputs.a as TensorInfo);
    const b = attrs.transposeB ? swapLast(inputs.b as TensorInfo) : (inputs.b as TensorInfo);
    return scope.keep(
      stock({
        inputs: { ...inputs, a, b },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }),
    );
  };
}

/**
 * Identity, and Cast to the same dtype, sharing the data as the cpu backend does. tfjs clones
 * every tensor it saves for backprop and BatchNorm's moments cast float32 to float32; the stock
 * wasm kernels copy each: 20 copies of each activation per batch.
 */
function sharingWhenUnchanged(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const dtype = (args.attrs?.dtype as tf.DataType | undefined) ?? x.dtype;
    if (x.dtype === "string" || dtype !== x.dtype) return stock(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Registers `make(previous)` for `name` on wasm; `previous` is what was registered before. */
export function replaceKernel(name: string, make: (stock: KernelFunc | null) => KernelFunc): void {
  const stock = stockKernel(name);
  if (stock) tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({
    kernelName: name,
    backendName: BACKEND,
    kernelFunc: make(stock) as unknown as tf.KernelFunc,
  });
}

/** For the stock-kernel baseline: only the kernel wasm lacks, in its plain form. */
export function installPlainConv2dBackpropFilter(): void {
  if (!stockKernel("Conv2DBackpropFilter"))
    replaceKernel("Conv2DBackpropFilter", () => conv2dBackpropFilterPlain);
}

let installed = false;

/** Registers the fast kernels on the wasm backend (once; call after it is initialised). */
export function installWasmKernels(): void {
  if (installed) return;
  installed = true;
  const required = (stock: KernelFunc | null, name: string) => {
    if (!stock) throw new Error(`the wasm backend lacks its ${name} kernel`);
    return stock;
  };
  replaceKernel("Conv2DBackpropFilter", () => conv2dBackpropFilter);
  replaceKernel("Conv2DBackpropInput", (stock) =>
    conv2dBackpropInput(required(stock, "Conv2DBackpropInput")),
  );
  replaceKernel("MaxPoolGrad", () => maxPoolGrad);
  replaceKernel("Sum", (stock) => spatialReduction(required(stock, "Sum"), "Sum"));
  replaceKernel("Mean", (stock) => spatialReduction(required(stock, "Mean"), "Mean"));
  replaceKernel("Identity", (stock) => sharingWhenUnchanged(required(stock, "Identity")));
  replaceKernel("Cast", (stock) => sharingWhenUnchanged(required(stock, "Cast")));
  replaceKernel("BatchMatMul", (stock) => batchMatMulWithoutFlags(required(stock, "BatchMatMul")));
}
