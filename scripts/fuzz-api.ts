// `npm run fuzz -- [--count 10000] [--seed N]`: the API fuzzer at full size, against a Labbook
// of its own on a scratch embedded PostgreSQL: first every input field's edge values, drawn from
// the schemas, then `count` random requests. Prints every failure; exits 1 if there is one.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startEmbeddedPostgres } from "../src/server/db/embedded-postgres";
import { describeFailure, fuzzApi, randomSeed, send, startFuzzTarget } from "../test/helpers/api-fuzz";

const { values } = parseArgs({
  options: { count: { type: "string", default: "10000" }, seed: { type: "string" } },
});
const count = Number(values.count);
const seed = values.seed ? Number(values.seed) : randomSeed();

const dir = mkdtempSync(path.join(tmpdir(), "labbook-fuzz-pg-"));
chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "cluster") });
let target: Awaited<ReturnType<typeof startFuzzTarget>> | undefined;
try {
  target = await startFuzzTarget(cluster.adminUrl);
  console.log(`Fuzzing ${target.baseUrl} with ${count} requests, seed ${seed}`);
  const started = Date.now();
  const { failures, statuses } = await fuzzApi({
    ...target,
    count,
    seed,
    sweep: true,
    onProgress: (done, failed) => {
      if (done % 1000 === 0) console.log(`  ${done} sent, ${failed} failures`);
    },
  });
  const alive = await send(target.baseUrl, {
    method: "GET",
    path: "/api/trpc/experiment.list?input=%7B%7D",
    headers: {},
  });
  console.log(`Statuses: ${JSON.stringify(statuses)}`);
  console.log(
    `${count} requests in ${((Date.now() - started) / 1000).toFixed(0)} s; the server still answers: ${alive.status}`,
  );
  for (const failure of failures) console.log(`FAIL ${describeFailure(failure)}`);
  const stacks = target.output().match(/\n\s+at /g)?.length ?? 0;
  console.log(`Stack frames in the server's log: ${stacks}`);
  console.log(failures.length ? `${failures.length} failures (seed ${seed})` : "No failures.");
  process.exitCode = failures.length || stacks || alive.status !== 200 ? 1 : 0;
} finally {
  await target?.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
