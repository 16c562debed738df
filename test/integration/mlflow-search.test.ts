// search_runs against a table of filter and order_by cases, each with the answer MLflow 2.17's
// own server gave for the same runs (test/fixtures/mlflow-filter-cases.json, written by
// scripts/mlflow/filter_cases.py with the official client).
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { logSeedRuns, mlflow, type SeedRun } from "../helpers/mlflow-rest";

const baseUrl = inject("baseUrl");
const fixture = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, "../fixtures/mlflow-filter-cases.json"), "utf8"),
) as {
  seed: SeedRun[];
  cases: { filter: string; order_by: string[]; names?: string[]; error?: string }[];
};

/**
 * Where Labbook answers otherwise, on purpose. The reference ran MLflow's file store, whose
 * LIKE is a regular expression without escapes; MLflow's SQL stores (and Labbook) read `\%` as
 * a literal %. IN and NOT IN work on any string key here; MLflow takes them for run_id only.
 */
const DEVIATIONS: Record<string, { names: string[]; why: string }> = {
  "params.norm LIKE '%\\%'": { names: ["pct%name"], why: "\\% is a literal % (SQL LIKE)" },
  "attributes.run_name LIKE '%\\%%'": { names: ["pct%name"], why: "\\% is a literal % (SQL LIKE)" },
  "attributes.status IN ('FAILED', 'KILLED')": {
    names: ["Zscore_3", "zscore-1"],
    why: "IN on any string key",
  },
  "attributes.status NOT IN ('FINISHED')": {
    names: ["Zscore_3", "empty", "zscore-1", "zscore-2"],
    why: "NOT IN on any string key",
  },
  "attributes.run_name IN ('sfs-1', 'empty', 'nope')": {
    names: ["empty", "sfs-1"],
    why: "IN on any string key",
  },
};

let experimentId: string;
beforeAll(async () => {
  ({ experimentId } = await logSeedRuns(baseUrl, `filter-cases-${process.pid}-${Date.now()}`, fixture.seed));
});

describe("search_runs answers as MLflow's server does", () => {
  it.each(
    fixture.cases.map((c) => [
      `${c.filter || "(no filter)"} ORDER BY ${c.order_by.join(", ") || "default"}`,
      c,
    ]),
  )("%s", async (_, c) => {
    const { status, body } = await mlflow<{ runs?: { info: { run_name: string } }[] }>(
      baseUrl,
      "runs/search",
      {
        experiment_ids: [experimentId],
        filter: c.filter,
        order_by: c.order_by,
        max_results: 1000,
      },
    );
    const deviation = DEVIATIONS[c.filter];
    if (c.error && !deviation) {
      expect(status, JSON.stringify(body)).toBe(400);
      expect(body.error_code).toBe(c.error);
      expect(body.message?.length).toBeGreaterThan(10);
      return;
    }
    expect(status, JSON.stringify(body)).toBe(200);
    expect((body.runs ?? []).map((r) => r.info.run_name)).toEqual(deviation?.names ?? c.names);
  });

  it("pages through a sorted search without losing or repeating a run, also across ties", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const { body } = await mlflow<{ runs?: { info: { run_name: string } }[]; next_page_token?: string }>(
        baseUrl,
        "runs/search",
        { experiment_ids: [experimentId], order_by: ["metrics.acc DESC"], max_results: 3, page_token: token },
      );
      seen.push(...(body.runs ?? []).map((r) => r.info.run_name));
      token = body.next_page_token;
      if (!token) break;
    }
    const all = await mlflow<{ runs: { info: { run_name: string } }[] }>(baseUrl, "runs/search", {
      experiment_ids: [experimentId],
      order_by: ["metrics.acc DESC"],
    });
    expect(seen).toEqual(all.body.runs.map((r) => r.info.run_name));
    expect(new Set(seen).size).toBe(fixture.seed.length);
  });

  it("refuses a page token it did not make", async () => {
    const { status, body } = await mlflow(baseUrl, "runs/search", {
      experiment_ids: [experimentId],
      page_token: "bm90IGEgdG9rZW4=",
    });
    expect(status).toBe(400);
    expect(body.error_code).toBe("INVALID_PARAMETER_VALUE");
  });
});
