// Loads 10,000 runs with 1,000,000 metric points (by default) into Labbook's database (the
// embedded one, or DATABASE_URL), as one experiment, to try the dashboard at scale.
//
//   npx tsx scripts/seed-large.ts [--runs 10000] [--epochs 25]
import { parseArgs } from "node:util";
import { openDatabase } from "../src/server/db/open";
import { seedLarge } from "./lib/seed-large";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "10000" }, epochs: { type: "string", default: "25" } },
});
const database = await openDatabase();
try {
  const result = await seedLarge(database.url, {
    runs: Number(values.runs),
    epochs: Number(values.epochs),
    experimentName: `seed-large-${new Date().toISOString().slice(0, 19)}`,
  });
  console.log(
    `Seeded experiment ${result.experimentId}: ${result.runs.toLocaleString("en")} runs, ${result.points.toLocaleString("en")} metric points in ${result.seconds.toFixed(1)} s (${database.source})`,
  );
} finally {
  await database.close();
}
