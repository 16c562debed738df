// CSV and JSON exports: an experiment's runs with their parameters and summary metrics, and a
// run's whole metric history.
import { stringify } from "csv-stringify/sync";
import { type Db, poolOf } from "@/server/db/client";
import { flattenConfig } from "@/shared/config-diff";
import { RUN_SUMMARY_METRICS } from "@/shared/experiments";
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

const EXPORT_PAGE = 10_000;

/** A run's points in (key, step) order, a page at a time: a long history is never held whole. */
async function* historyPages(db: Db, runId: number) {
  let after = null as { key: string; step: number } | null;
  for (;;) {
    const { rows }: { rows: { key: string; step: number; value: number; wallTime: string }[] } = await poolOf(
      db,
    ).query(
      `SELECT key, step, value, to_char("wallTime", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "wallTime"
         FROM "MetricPoint" WHERE "runId" = $1 AND ($2::text IS NULL OR (key, step) > ($2, $3))
         ORDER BY key, step LIMIT ${EXPORT_PAGE}`,
      [runId, after?.key ?? null, after?.step ?? 0],
    );
    if (rows.length) yield rows;
    const last = rows.at(-1);
    if (!last || rows.length < EXPORT_PAGE) return;
    after = last;
  }
}

/** A run's whole metric history as CSV or JSON, streamed page by page. */
export function runMetricsExport(db: Db, runId: number, format: "csv" | "json"): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  async function* text() {
    let key: string | null = null;
    if (format === "csv") yield stringify([["key", "step", "value", "wallTime"]]);
    else yield `{"runId":${runId},"metrics":{`;
    for await (const rows of historyPages(db, runId)) {
      if (format === "csv") {
        yield stringify(rows.map((p) => [spreadsheetSafe(p.key), p.step, p.value, p.wallTime]));
        continue;
      }
      const parts: string[] = [];
      for (const p of rows) {
        if (p.key !== key) parts.push(`${key === null ? "" : "],"}${JSON.stringify(p.key)}:[`);
        else parts.push(",");
        key = p.key;
        parts.push(JSON.stringify({ step: p.step, value: p.value, wallTime: p.wallTime }));
      }
      yield parts.join("");
    }
    if (format === "json") yield key === null ? "}}" : "]}}";
  }
  const chunks = text();
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
