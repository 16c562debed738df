// Runs the Prisma CLI with a DATABASE_URL always set: `prisma generate` tries to download a
// query engine when it is unset, which fails offline. Any value does for generate.
import { prisma } from "../src/server/db/migrate";

const url = process.env.DATABASE_URL ?? "postgresql://localhost:5432/labbook";
const { stdout, code } = await prisma(process.argv.slice(2), url);
process.stdout.write(stdout);
process.exit(code);
