// The Prisma client. One per process; routers receive it through the tRPC context.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "@/generated/prisma/client";

export type Db = PrismaClient;

/**
 * Each client's pool. Kept on globalThis: Next.js bundles this module more than once (pages,
 * route handlers), and a client made by one copy and shared through getDb's global must still
 * find its pool from another copy.
 */
const shared = globalThis as unknown as { labbookPools?: WeakMap<object, pg.Pool> };
shared.labbookPools ??= new WeakMap();
const pools = shared.labbookPools;

export function createDb(databaseUrl: string): Db {
  // Idle connections must not keep a finished script alive.
  const pool = new pg.Pool({ connectionString: databaseUrl, allowExitOnIdle: true });
  // An idle connection the server closed (restart, dropped database) is dropped from the pool;
  // the next query opens a new one. Unhandled, the error would end the process.
  pool.on("error", (error) => console.warn(`PostgreSQL closed an idle connection: ${error.message}`));
  // Artifact bytes are large: never load them unless a query asks for them.
  const db: Db = new PrismaClient({ adapter: new PrismaPg(pool), omit: { artifact: { data: true } } });
  pools.set(db, pool);
  return db;
}

/**
 * The connection pool under `db`, for the one hot path that bypasses Prisma: metric ingest,
 * where Prisma's per-query overhead was 40% of a 1,000-point batch (see bench-ingest).
 */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error("this client was not made by createDb");
  return pool;
}

/** Runs `work` in one transaction on a connection of `db`'s pool (for the paths that bypass Prisma). */
export async function inPoolTransaction<T>(db: Db, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await poolOf(db).connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    client.release();
  }
}

const globalForDb = globalThis as unknown as { labbookDb?: Db };

/** The process-wide client for DATABASE_URL (set by scripts/start.ts before the app loads). */
export function getDb(): Db {
  if (!globalForDb.labbookDb) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    globalForDb.labbookDb = createDb(url);
  }
  return globalForDb.labbookDb;
}
