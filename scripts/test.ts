// `npm test`: lint, type check, build, then unit, integration and end-to-end tests against a
// real PostgreSQL (embedded unless LABBOOK_TEST_DATABASE_URL is set) and headless Chromium.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../src/server/db/migrate";
import { buildIfNeeded } from "./build-if-needed";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const bin = (name: string) => path.join(PROJECT_ROOT, "node_modules", ".bin", name);

function step(title: string, command: string, args: string[]) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: PROJECT_ROOT, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`✖ ${title} failed`);
    process.exit(result.status ?? 1);
  }
  console.log(`✔ ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

step("Lint and format (Biome)", bin("biome"), ["check", "."]);
step("Type check", bin("tsc"), ["--noEmit"]);
console.log("\n▶ Build");
buildIfNeeded();
step("Tests (vitest)", bin("vitest"), ["run", ...process.argv.slice(2)]);
