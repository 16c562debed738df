// Picks the fastest TensorFlow.js backend that loads here: native TensorFlow with CUDA, native
// TensorFlow on CPU, WebAssembly with Labbook's OpenBLAS convolutions, WebAssembly (with
// Labbook's fast gradient kernels), then plain JS.
import * as tf from "@tensorflow/tfjs";
import { installBatchNormGrad } from "./batchnorm-grad";
import { installCpuKernelFixes } from "./cpu-kernels";
import { installNativeConvKernels } from "./native-conv";
import { installPlainConv2dBackpropFilter, installWasmKernels } from "./wasm-kernels";

export const BACKENDS = [
  "tensorflow-gpu",
  "tensorflow",
  "wasm-openblas",
  "wasm",
  "wasm-stock",
  "cpu",
] as const;
export type BackendName = (typeof BACKENDS)[number];
/** The automatic order; wasm-stock (stock kernels) exists for benchmarks. */
const AUTO_ORDER: BackendName[] = ["tensorflow-gpu", "tensorflow", "wasm-openblas", "wasm", "cpu"];

export interface BackendChoice {
  name: BackendName;
  /** What tfjs calls it. */
  tfBackend: string;
  /** Why others were skipped, for the run's log. */
  skipped: string[];
}

const NATIVE_PACKAGES = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
} as const satisfies Partial<Record<BackendName, string>>;

const reason = (error: unknown) => (error instanceof Error ? error.message.split("\n")[0] : String(error));

async function activate(name: BackendName): Promise<string> {
  switch (name) {
    case "tensorflow-gpu":
    case "tensorflow":
      // Optional dependencies: present only where libtensorflow could be installed.
      await import(NATIVE_PACKAGES[name]);
      break;
    case "wasm-openblas":
    case "wasm":
    case "wasm-stock":
      await import("@tensorflow/tfjs-backend-wasm");
      break;
    case "cpu":
      break;
  }
  const tfBackend = name.startsWith("tensorflow") ? "tensorflow" : name.startsWith("wasm") ? "wasm" : "cpu";
  if (!(await tf.setBackend(tfBackend)))
    throw new Error(`tfjs could not initialise the ${tfBackend} backend`);
  await tf.ready();
  if (name === "tensorflow-gpu" && !(await hasCudaDevice()))
    throw new Error("no CUDA device visible to TensorFlow");
  if (name === "cpu") installCpuKernelFixes();
  if (name === "wasm" || name === "wasm-openblas") {
    installWasmKernels();
    installBatchNormGrad();
  }
  if (name === "wasm-openblas") installNativeConvKernels(blasThreads());
  // Stock wasm cannot train a conv net without this kernel; the plain loop makes it the baseline.
  if (name === "wasm-stock") installPlainConv2dBackpropFilter();
  return tfBackend;
}

/** OpenBLAS threads per trainer: one, so that two runs share two cores (LABBOOK_BLAS_THREADS). */
function blasThreads(): number {
  const threads = Number(process.env.LABBOOK_BLAS_THREADS ?? 1);
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(
      `LABBOOK_BLAS_THREADS must be a whole number ≥ 1, got ${process.env.LABBOOK_BLAS_THREADS}`,
    );
  return threads;
}

async function hasCudaDevice(): Promise<boolean> {
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice ?? true;
}

/** Activates `preferred`, or the first backend of the automatic order that works. */
export async function selectBackend(preferred?: BackendName | "auto"): Promise<BackendChoice> {
  const candidates = preferred && preferred !== "auto" ? [preferred] : AUTO_ORDER;
  const skipped: string[] = [];
  for (const name of candidates) {
    try {
      const tfBackend = await activate(name);
      return { name, tfBackend, skipped };
    } catch (error) {
      skipped.push(`${name}: ${reason(error)}`);
    }
  }
  throw new Error(`No TensorFlow.js backend could start:\n  ${skipped.join("\n  ")}`);
}
