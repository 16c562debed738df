// Applies the committed migrations with the Prisma CLI (offline JS schema engine, see
// prisma.config.ts). Used on every start and by `npm run db:migrate`.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const PROJECT_ROOT = path.resolve(import.meta.dirname, "../../..");
const PRISMA_BIN = path.join(PROJECT_ROOT, "node_modules", ".bin", "prisma");

/** Runs a Prisma CLI command against `databaseUrl`; throws with the CLI's output on failure. */
export async function prisma(args: string[], databaseUrl: string): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(PRISMA_BIN, args, {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
        CHECKPOINT_DISABLE: "1",
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { stdout, code: 0 };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code === "number") return { stdout: `${e.stdout ?? ""}${e.stderr ?? ""}`, code: e.code };
    throw error;
  }
}

export async function applyMigrations(databaseUrl: string): Promise<void> {
  const { stdout, code } = await prisma(["migrate", "deploy"], databaseUrl);
  if (code !== 0) throw new Error(`Database migration failed:\n${stdout}`);
}
