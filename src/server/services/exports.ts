// CSV and JSON exports: an experiment's runs with their parameters and summary metrics, and a
// run's whole metric history.
import { stringify } from "csv-stringify/sync";
import type { Db } from "@/server/db/client";
import { flattenConfig } from "@/shared/config-diff";
import { RUN_SUMMARY_METRICS } from "@/shared/experiments";
import { metricHistory } from "./metrics";
import { settingsOf } from "./runs";

const SUMMARY_COLUMNS = [
  "id",
  "name",
  "status",
  "groupKey",
  "epochsDone",
  "bestEpoch",
  ...RUN_SUMMARY_METRICS,
  "backend",
  "attempt",
  "createdAt",
  "startedAt",
  "finishedAt",
  "error",
  "source",
  "uuid",
] as const;

/**
 * A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading
 * apostrophe, as OWASP advises: run names and errors come from users and trainers.
 */
export function spreadsheetSafe(value: unknown): unknown {
  return typeof value === "string" && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export async function experimentRunsCsv(db: Db, experimentId: number): Promise<string> {
  const runs = await db.run.findMany({
    where: { experimentId, deletedAt: null },
    orderBy: { id: "asc" },
    include: { params: { select: { key: true, value: true } } },
  });
  const configs = runs.map((r) => flattenConfig(settingsOf(r)));
  const params = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : spreadsheetSafe(v ?? ""));
  return stringify(
    runs.map((run, i) => [
      ...SUMMARY_COLUMNS.map((c) => cell(run[c])),
      ...params.map((p) => spreadsheetSafe(configs[i]?.[p] ?? "")),
    ]),
    { header: true, columns: [...SUMMARY_COLUMNS, ...params.map((p) => `param.${p}`)] },
  );
}

export async function runMetricsExport(db: Db, runId: number, format: "csv" | "json"): Promise<string> {
  const points = await metricHistory(db, runId);
  if (format === "csv")
    return stringify(
      points.map((p) => [spreadsheetSafe(p.key), p.step, p.value, p.wallTime.toISOString()]),
      { header: true, columns: ["key", "step", "value", "wallTime"] },
    );
  const metrics: Record<string, { step: number; value: number; wallTime: string }[]> = {};
  for (const p of points) {
    metrics[p.key] ??= [];
    metrics[p.key]?.push({ step: p.step, value: p.value, wallTime: p.wallTime.toISOString() });
  }
  return JSON.stringify({ runId, metrics });
}
