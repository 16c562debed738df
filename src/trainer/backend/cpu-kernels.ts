// tfjs-backend-cpu 4.22's Transform returns from inside its per-image loop, so every image
// after the first comes back as zeros. This runs the stock kernel one image at a time.
import * as tf from "@tensorflow/tfjs";

interface CpuBackend {
  data: { get(dataId: object): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
}
type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: CpuBackend; attrs: tf.NamedAttrMap };

let installed = false;

export function installCpuKernelFixes(): void {
  if (installed) return;
  installed = true;
  const stock = tf.getKernel("Transform", "cpu")?.kernelFunc as unknown as
    | ((args: KernelArgs) => tf.TensorInfo)
    | undefined;
  if (!stock) return;
  const perImage = (args: KernelArgs): tf.TensorInfo => {
    const { image, transforms } = args.inputs as { image: tf.TensorInfo; transforms: tf.TensorInfo };
    const [n, h, w, c] = image.shape as [number, number, number, number];
    if (n === 1) return stock(args);
    const { backend } = args;
    const pixels = backend.data.get(image.dataId).values as Float32Array;
    const matrices = backend.data.get(transforms.dataId).values as Float32Array;
    const parts: Float32Array[] = [];
    let outShape: number[] = [];
    for (let b = 0; b < n; b++) {
      const one = backend.makeTensorInfo(
        [1, h, w, c],
        image.dtype,
        pixels.slice(b * h * w * c, (b + 1) * h * w * c),
      );
      const row = transforms.shape[0] === 1 ? 0 : b;
      const matrix = backend.makeTensorInfo([1, 8], "float32", matrices.slice(row * 8, row * 8 + 8));
      const out = stock({ ...args, inputs: { image: one, transforms: matrix } });
      parts.push(backend.data.get(out.dataId).values as Float32Array);
      outShape = out.shape;
      for (const info of [one, matrix, out]) backend.disposeIntermediateTensorInfo(info);
    }
    const joined = new Float32Array(parts.reduce((size, p) => size + p.length, 0));
    parts.forEach((p, b) => {
      joined.set(p, b * p.length);
    });
    return backend.makeTensorInfo([n, ...outShape.slice(1)], image.dtype, joined);
  };
  tf.unregisterKernel("Transform", "cpu");
  tf.registerKernel({
    kernelName: "Transform",
    backendName: "cpu",
    kernelFunc: perImage as unknown as tf.KernelFunc,
  });
}
