// `npm run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database.
import { openDatabase } from "../src/server/db/open";

const database = await openDatabase();
console.log(`Migrations applied: ${database.source}`);
await database.close();
