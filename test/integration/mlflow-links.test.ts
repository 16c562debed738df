// The link MLflow's client prints for a run (/runs/<MLflow run id>) as the first request a fresh
// server answers: the page's database client is then the process's, and the API must still
// use it (a copy of the client module bundled apart from the API's once made every pool-based
// query fail with 500 after such a first request).
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { createDb } from "@/server/db/client";
import { type LabbookProcess, startLabbook } from "../../scripts/lib/labbook-process";
import { callProcedure } from "../helpers/trpc-http";

const db = createDb(inject("databaseUrl"));
let server: LabbookProcess;
let run: { id: number; uuid: string };

beforeAll(async () => {
  const experiment = await db.experiment.create({
    data: { name: `printed-link-${process.pid}-${Date.now()}` },
  });
  run = await db.run.create({
    data: {
      experimentId: experiment.id,
      name: "printed-link",
      source: "mlflow",
      status: "succeeded",
      groupKey: "printed-link",
    },
    select: { id: true, uuid: true },
  });
  server = await startLabbook({ DATABASE_URL: inject("databaseUrl") });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db.$disconnect();
});

it("opens a run by its MLflow id first, and the API answers afterwards", async () => {
  const page = await fetch(new URL(`/runs/${run.uuid}`, server.baseUrl), { redirect: "manual" });
  expect([307, 308]).toContain(page.status);
  expect(page.headers.get("location")).toBe(`/runs/${run.id}`);
  const missing = await fetch(new URL(`/runs/${"f".repeat(32)}`, server.baseUrl), { redirect: "manual" });
  expect(missing.status).toBe(404);
  const evaluation = await callProcedure(server.baseUrl, "run.evaluation", { id: run.id }, { kind: "query" });
  expect(evaluation.status, JSON.stringify(evaluation.body)).toBe(404);
  const history = await callProcedure(
    server.baseUrl,
    "metric.history",
    { runIds: [run.id], keys: ["loss"] },
    { kind: "query" },
  );
  expect(history.status, JSON.stringify(history.body)).toBe(200);
});
