// Builds Labbook's native convolution kernels (src/trainer/backend/native) against OpenBLAS,
// the fastest CPU training path that installs here. They are optional: without OpenBLAS's
// headers (Debian: libopenblas-dev) this says how to get them and the trainer uses wasm.
// npm's postinstall and `npm start` run it with --if-stale.
//
//   npx tsx scripts/build-native.ts [--if-stale]
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { NATIVE_DIR, NATIVE_MODULE } from "../src/trainer/backend/native-module";
import { newestMtime } from "./build-if-needed";

const upToDate = () =>
  existsSync(NATIVE_MODULE) && newestMtime(NATIVE_DIR) <= statSync(NATIVE_MODULE).mtimeMs;

/** Builds the addon (or only when stale); never fails: the trainer falls back to wasm. */
export function buildNative({ ifStale = false } = {}): void {
  if (ifStale && upToDate()) return;
  if (spawnSync("pkg-config", ["--exists", "openblas"]).status !== 0) {
    console.warn(
      "labbook: OpenBLAS not found (pkg-config openblas), so training uses the wasm backend. " +
        "For about 2x faster CPU training: apt-get install libopenblas-dev pkg-config, then npm run build:native",
    );
    return;
  }
  // npm passes its bundled node-gyp to scripts; outside npm, look beside npm itself.
  const nodeGyp =
    process.env.npm_config_node_gyp ??
    path.join(
      path.dirname(process.execPath),
      "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    );
  const build = spawnSync(process.execPath, [nodeGyp, "rebuild", "--directory", NATIVE_DIR], {
    encoding: "utf8",
  });
  if (build.status !== 0) {
    process.stderr.write(`${build.stdout}\n${build.stderr}\n`);
    console.warn(
      "labbook: the native kernels did not build (output above), so training uses the wasm backend.",
    );
    return;
  }
  console.log(`labbook: built ${path.relative(process.cwd(), NATIVE_MODULE)} (OpenBLAS convolutions)`);
}

if (import.meta.url === `file://${process.argv[1]}`)
  buildNative({ ifStale: process.argv.includes("--if-stale") });
