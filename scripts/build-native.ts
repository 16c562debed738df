// Builds Labbook's native convolution kernels (src/trainer/backend/native) on each library
// installed here: libtorch's oneDNN and ATen threads (Debian: libtorch-dev libdnnl-dev; the fastest)
// and OpenBLAS (libopenblas-dev). Both are optional: without them this says how to get them
// and the trainer uses wasm. npm's postinstall and `npm start` run it with --if-stale.
//
//   npx tsx scripts/build-native.ts [--if-stale]
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import {
  NATIVE_DIR,
  NATIVE_LIBRARIES,
  NATIVE_PACKAGES,
  type NativeLibrary,
  nativeModulePath,
} from "../src/trainer/backend/native-module";
import { newestMtime } from "./build-if-needed";

const ATEN_HEADER = "/usr/include/ATen/ATen.h";
const LIBTORCH = "/usr/lib/x86_64-linux-gnu/libtorch_cpu.so";
const ONEDNN_HEADER = "/usr/include/dnnl.hpp";

/** The libraries whose headers are installed here. */
export function installedLibraries(): NativeLibrary[] {
  const has: Record<NativeLibrary, () => boolean> = {
    libtorch: () => [ATEN_HEADER, LIBTORCH, ONEDNN_HEADER].every((file) => existsSync(file)),
    openblas: () => spawnSync("pkg-config", ["--exists", "openblas"]).status === 0,
  };
  return NATIVE_LIBRARIES.filter((library) => has[library]());
}

const upToDate = (libraries: NativeLibrary[]) =>
  libraries.every((library) => {
    const file = nativeModulePath(library);
    return existsSync(file) && newestMtime(NATIVE_DIR) <= statSync(file).mtimeMs;
  });

/** Builds the addons (or only when stale); never fails: the trainer falls back to wasm. */
export function buildNative({ ifStale = false } = {}): void {
  const libraries = installedLibraries();
  const missing = NATIVE_LIBRARIES.filter((library) => !libraries.includes(library));
  if (libraries.length === 0) {
    console.warn(
      "labbook: neither libtorch nor OpenBLAS is installed, so training uses the wasm backend. " +
        `For 3-6x faster CPU training: apt-get install ${NATIVE_PACKAGES.libtorch}, then npm run build:native`,
    );
    return;
  }
  if (ifStale && upToDate(libraries)) return;
  // npm passes its bundled node-gyp to scripts; outside npm, look beside npm itself.
  const nodeGyp =
    process.env.npm_config_node_gyp ??
    path.join(
      path.dirname(process.execPath),
      "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    );
  const flags = NATIVE_LIBRARIES.map((library) => `-D${library}=${libraries.includes(library) ? 1 : 0}`);
  const build = spawnSync(process.execPath, [nodeGyp, "rebuild", "--directory", NATIVE_DIR, "--", ...flags], {
    encoding: "utf8",
  });
  if (build.status !== 0) {
    process.stderr.write(`${build.stdout}\n${build.stderr}\n`);
    console.warn(
      "labbook: the native kernels did not build (output above), so training uses the wasm backend.",
    );
    return;
  }
  console.log(
    `labbook: built the native convolutions on ${libraries.join(" and ")}` +
      (missing.length
        ? ` (for ${missing.join(", ")}: apt-get install ${missing.map((m) => NATIVE_PACKAGES[m]).join(" ")})`
        : ""),
  );
}

if (import.meta.url === `file://${process.argv[1]}`)
  buildNative({ ifStale: process.argv.includes("--if-stale") });
