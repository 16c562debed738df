// Opens Labbook's database: the server in DATABASE_URL when set, else Labbook's own
// embedded PostgreSQL under LABBOOK_HOME. Migrations are applied either way.
import path from "node:path";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { applyMigrations, PROJECT_ROOT } from "./migrate";

export interface OpenDatabase {
  url: string;
  /** "external" for DATABASE_URL, else where the embedded cluster lives. */
  source: string;
  close(): Promise<void>;
}

export function labbookHome(): string {
  return path.resolve(PROJECT_ROOT, process.env.LABBOOK_HOME ?? ".labbook");
}

export async function openDatabase(): Promise<OpenDatabase> {
  const external = process.env.DATABASE_URL;
  if (external) {
    await applyMigrations(external);
    return { url: external, source: "external (DATABASE_URL)", close: async () => {} };
  }
  const dir = path.join(labbookHome(), "postgres");
  const cluster = await startEmbeddedPostgres({ dir });
  await applyMigrations(cluster.url);
  return {
    url: cluster.url,
    source: `embedded PostgreSQL in ${dir}${cluster.reused ? " (already running, reused)" : ""}`,
    close: () => cluster.stop(),
  };
}
