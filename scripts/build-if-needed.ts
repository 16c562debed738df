// Builds the dashboard when no build exists or a source file is newer than it.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../src/server/db/migrate";
import { NATIVE_BUILD_DIR, NATIVE_DIR } from "../src/trainer/backend/native-module";

const BUILD_MARKER = path.join(PROJECT_ROOT, ".next", "BUILD_ID");
const INPUTS = [
  "src",
  "public",
  "next.config.js",
  "postcss.config.mjs",
  "package-lock.json",
  "tsconfig.json",
];

// The native addon's build output is not a source of the addon.
const NOT_SOURCES = [NATIVE_BUILD_DIR];
// Nor is the addon a source of the dashboard: rebuilding it recreates its build folder, which
// touches its parent folder, and must not start a second dashboard build meanwhile.
const NOT_DASHBOARD_SOURCES = [NATIVE_DIR];

/** The newest modification time under `entry`, skipping the paths in `skip`. */
export function newestMtime(entry: string, skip: string[] = NOT_SOURCES): number {
  if (!existsSync(entry) || skip.includes(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const child of readdirSync(entry))
    newest = Math.max(newest, newestMtime(path.join(entry, child), skip));
  return newest;
}

export function buildIfNeeded(): void {
  const built = existsSync(BUILD_MARKER) ? statSync(BUILD_MARKER).mtimeMs : 0;
  const newest = Math.max(
    ...INPUTS.map((input) => newestMtime(path.join(PROJECT_ROOT, input), NOT_DASHBOARD_SOURCES)),
  );
  if (built >= newest) return;
  console.log(
    built ? "Sources changed since the last build; rebuilding the dashboard…" : "Building the dashboard…",
  );
  execFileSync(path.join(PROJECT_ROOT, "node_modules", ".bin", "next"), ["build"], {
    cwd: PROJECT_ROOT,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
}

if (import.meta.url === `file://${process.argv[1]}`) buildIfNeeded();
