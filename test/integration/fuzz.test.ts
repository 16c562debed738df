// 1,000 generated requests against every procedure and route of a real server (the whole
// 10,000 run: npm run fuzz). No 5xx, no leaked internals, nothing stored by a refused request,
// and the server still answers afterwards.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { describeFailure, fuzzApi, procedures, randomSeed, send, startFuzzTarget } from "../helpers/api-fuzz";
import { edgeRequests, schemaTargets } from "../helpers/schema-fuzz";

const adminUrl = inject("adminUrl");
let target: Awaited<ReturnType<typeof startFuzzTarget>>;

beforeAll(async () => {
  target = await startFuzzTarget(adminUrl);
}, 180_000);
afterAll(() => target?.stop());

describe("the API under every field's edge values and 1,000 generated requests", () => {
  it("derives the edges of every input field from the schemas: none escapes", () => {
    const targets = schemaTargets("0".repeat(32));
    const swept = new Set(edgeRequests(targets).map((e) => `${e.target} ${e.field}`));
    // Every procedure that takes input, and every MLflow write, is in the sweep.
    for (const { path } of procedures().filter(
      (p) => !["auth.me", "model.list", "worker.list"].includes(p.path),
    ))
      if (targets.some((t) => t.name === `trpc:${path}`))
        expect([...swept].some((s) => s.startsWith(`trpc:${path} `))).toBe(true);
    // The fields the held-back fuzzer found 5xx in.
    for (const field of [
      "trpc:worker.claim workerId",
      "trpc:worker.finish workerId",
      "trpc:worker.release workerId",
      "trpc:worker.register info",
      "trpc:worker.register info.skippedBackends",
      "trpc:run.list epochs.gte",
      "mlflow:runs/log-batch metrics.0.step",
    ])
      expect(swept, field).toContain(field);
  });

  it("answers each below 500, leaks nothing, stores nothing when it refuses, and still answers", async () => {
    expect(procedures().length).toBeGreaterThanOrEqual(35);
    expect(procedures().map((p) => p.path)).toContain("worker.heartbeat");
    // A new seed each run explores more; a failure prints it so the run can be repeated.
    const seed = Number(process.env.LABBOOK_FUZZ_SEED ?? randomSeed());
    const { failures, statuses } = await fuzzApi({ ...target, count: 1_000, seed, sweep: true });
    expect(failures.map(describeFailure), `seed ${seed}; statuses ${JSON.stringify(statuses)}`).toEqual([]);
    // Most inputs are refused, but not all: the generator reaches the handlers too.
    expect(Object.keys(statuses).some((s) => s.startsWith("2"))).toBe(true);
    expect(Object.keys(statuses).some((s) => s.startsWith("4"))).toBe(true);
    const alive = await send(target.baseUrl, {
      method: "GET",
      path: "/api/trpc/experiment.list?input=%7B%7D",
      headers: {},
    });
    expect(alive.status).toBe(200);
    // Posts to pages are refused before Next.js looks for a Server Action; nothing logs a stack.
    expect(target.output()).not.toMatch(/Failed to find Server Action|\n\s+at /);
  }, 600_000);
});
