// Picks the fastest TensorFlow.js backend that loads here: native TensorFlow with CUDA, native
// TensorFlow on CPU, WebAssembly with Labbook's native convolutions (on libtorch, else OpenBLAS),
// WebAssembly (with Labbook's fast gradient kernels), then plain JS.
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { installBatchNormGrad } from "./batchnorm-grad";
import { installCpuKernelFixes } from "./cpu-kernels";
import { installNativeConvKernels } from "./native-conv";
import { installPlainConv2dBackpropFilter, installWasmKernels } from "./wasm-kernels";

export const BACKENDS = [
  "tensorflow-gpu",
  "tensorflow",
  "wasm-libtorch",
  "wasm-openblas",
  "wasm",
  "wasm-stock",
  "cpu",
] as const;
export type BackendName = (typeof BACKENDS)[number];
/** The automatic order; wasm-stock (stock kernels) exists for benchmarks. */
const AUTO_ORDER: BackendName[] = [
  "tensorflow-gpu",
  "tensorflow",
  "wasm-libtorch",
  "wasm-openblas",
  "wasm",
  "cpu",
];

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

/**
 * Whether an optional TensorFlow package can load, checked without importing it: a package
 * whose install could not download libtensorflow still registers all its kernels on import,
 * before failing, and a second probe would register them again (hundreds of warnings).
 */
export function nativePackageProblem(pkg: string): string | null {
  let dir: string;
  try {
    dir = path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    return "not installed";
  }
  const lib = path.join(dir, "lib");
  const binding =
    existsSync(lib) &&
    readdirSync(lib).some(
      (sub) => sub.startsWith("napi-v") && existsSync(path.join(lib, sub, "tfjs_binding.node")),
    );
  return binding ? null : "no libtensorflow binding (its install downloads one; see the README)";
}

/** A failed native import leaves its kernels registered: then no other native package is tried. */
let nativeImportFailed = false;

async function activate(name: BackendName, threads: number): Promise<string> {
  switch (name) {
    case "tensorflow-gpu":
    case "tensorflow": {
      // Optional dependencies: usable only where libtensorflow could be installed.
      const problem = nativePackageProblem(NATIVE_PACKAGES[name]);
      if (problem) throw new Error(problem);
      if (nativeImportFailed) throw new Error("another TensorFlow package failed to load in this process");
      try {
        await import(NATIVE_PACKAGES[name]);
      } catch (error) {
        nativeImportFailed = true;
        throw error;
      }
      break;
    }
    case "wasm-libtorch":
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
  if (name === "wasm" || name === "wasm-openblas" || name === "wasm-libtorch") {
    installWasmKernels();
    installBatchNormGrad();
  }
  if (name === "wasm-libtorch") installNativeConvKernels("libtorch", threads);
  if (name === "wasm-openblas") installNativeConvKernels("openblas", threads);
  // Stock wasm cannot train a conv net without this kernel; the plain loop makes it the baseline.
  if (name === "wasm-stock") installPlainConv2dBackpropFilter();
  return tfBackend;
}

/**
 * Threads for the native kernels of one trainer (LABBOOK_THREADS): by default every core, as
 * PyTorch does; `npm start` divides the cores between its local workers.
 */
export function trainerThreads(env: NodeJS.ProcessEnv = process.env): number {
  if (env.LABBOOK_THREADS === undefined || env.LABBOOK_THREADS === "") return availableParallelism();
  const threads = Number(env.LABBOOK_THREADS);
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024)
    throw new Error(`LABBOOK_THREADS must be a whole number from 1 to 1024, got ${env.LABBOOK_THREADS}`);
  return threads;
}

async function hasCudaDevice(): Promise<boolean> {
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return backend.isUsingGpuDevice ?? true;
}

/**
 * Activates `preferred`, or the first backend of the automatic order that works, with `threads`
 * threads for its native kernels (default: LABBOOK_THREADS, else every core).
 */
export async function selectBackend(
  preferred?: BackendName | "auto",
  threads = trainerThreads(),
): Promise<BackendChoice> {
  const candidates = preferred && preferred !== "auto" ? [preferred] : AUTO_ORDER;
  const skipped: string[] = [];
  for (const name of candidates) {
    try {
      const tfBackend = await activate(name, threads);
      return { name, tfBackend, skipped };
    } catch (error) {
      skipped.push(`${name}: ${reason(error)}`);
    }
  }
  throw new Error(`No TensorFlow.js backend could start:\n  ${skipped.join("\n  ")}`);
}
