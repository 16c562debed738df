// The Prisma client. One per process; routers receive it through the tRPC context.
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/generated/prisma/client";

export type Db = PrismaClient;

export function createDb(databaseUrl: string): Db {
  // Artifact bytes are large: never load them unless a query asks for them.
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString: databaseUrl }),
    omit: { artifact: { data: true } },
  });
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
