import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname, "src") } },
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    globalSetup: ["test/setup/global-setup.ts"],
    // Two cores: test files share one database server and one Labbook server.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Pages hydrate slowly while workers train on both cores: poll for up to 15 s.
    expect: { poll: { timeout: 15_000 } },
  },
});
