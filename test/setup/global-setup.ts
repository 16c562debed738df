// One PostgreSQL server and one fresh, migrated database for the whole test run, dropped
// afterwards; and one real Labbook server on it. The server is LABBOOK_TEST_DATABASE_URL
// (an admin URL of any PostgreSQL) or, when unset, an embedded cluster in a temp directory.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startLabbook } from "../../scripts/lib/labbook-process";
import { startEmbeddedPostgres } from "../../src/server/db/embedded-postgres";
import { applyMigrations } from "../../src/server/db/migrate";
import { createDatabase, dropDatabase } from "../helpers/database";
import { writeSyntheticCifar } from "../helpers/synthetic-cifar";

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    databaseUrl: string;
    baseUrl: string;
    /** The synthetic CIFAR-10 (20 records per file) the test server reads images from. */
    datasetDir: string;
  }
}

export default async function setup(project: TestProject) {
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step();
  };
  try {
    let adminUrl = process.env.LABBOOK_TEST_DATABASE_URL;
    if (!adminUrl) {
      // mkdtemp makes a 0700 directory, which the postgres user could not enter.
      const dir = mkdtempSync(path.join(tmpdir(), "labbook-test-pg-"));
      chmodSync(dir, 0o755);
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "cluster") });
      cleanups.push(() => cluster.stop());
      adminUrl = cluster.adminUrl;
    }
    const url = await createDatabase(adminUrl);
    cleanups.push(() => dropDatabase(adminUrl, url));
    await applyMigrations(url);

    // The server renders test-set images from this small synthetic dataset.
    const datasetDir = writeSyntheticCifar(20);
    cleanups.push(() => rmSync(datasetDir, { recursive: true, force: true }));
    const labbook = await startLabbook({
      DATABASE_URL: url,
      LABBOOK_TRUST_PROXY: "1",
      LABBOOK_DATA_DIR: datasetDir,
    });
    cleanups.push(async () => {
      await labbook.stop();
    });

    project.provide("adminUrl", adminUrl);
    project.provide("databaseUrl", url);
    project.provide("baseUrl", labbook.baseUrl);
    project.provide("datasetDir", datasetDir);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return cleanup;
}
