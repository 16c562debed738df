// search_runs in SQL: the parsed filter becomes WHERE conditions over "Run" r (metrics through
// LatestMetric, params and tags through their tables), order_by becomes ORDER BY with MLflow's
// rules (missing values last, NaN after numbers, then start_time DESC and run id as ties), and
// the page token is MLflow's offset. A run that lacks a key a clause names is left out.

import { MlflowError } from "./errors";
import { type Clause, type OrderBy, parseFilter, parseOrderBy } from "./filter";
import { MLFLOW_STATUS_SQL, RUN_NAME_TAG } from "./views";

/** Collects the query's parameters and hands out their $n placeholders. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const START_TIME_SQL = `(extract(epoch FROM COALESCE(r."startedAt", r."createdAt")) * 1000)`;
const ATTRIBUTE_SQL: Record<string, string> = {
  run_id: "r.uuid",
  run_name: "r.name",
  user_id: "r.owner",
  status: MLFLOW_STATUS_SQL,
  artifact_uri: `('mlflow-artifacts:/' || r."experimentId" || '/' || r.uuid || '/artifacts')`,
  start_time: START_TIME_SQL,
  end_time: `(extract(epoch FROM r."finishedAt") * 1000)`,
};

/** A clause's comparison of `column` with the clause's value. */
function compare(column: string, clause: Clause, params: SqlParams): string {
  const { comparator, value } = clause;
  if (comparator === "IN" || comparator === "NOT IN") {
    const list = params.add(value);
    return comparator === "IN"
      ? `${column} = ANY(${list}::text[])`
      : `NOT (${column} = ANY(${list}::text[]))`;
  }
  // NaN compares as in Python: unequal to everything, neither above nor below anything.
  if (typeof value === "number")
    return comparator === "!="
      ? `(${column} = 'NaN'::float8 OR ${column} <> ${params.add(value)}::float8)`
      : `(${column} <> 'NaN'::float8 AND ${column} ${comparator} ${params.add(value)}::float8)`;
  const placeholder = params.add(value);
  if (comparator === "LIKE") return `${column} LIKE ${placeholder}`;
  if (comparator === "ILIKE") return `${column} ILIKE ${placeholder}`;
  // = and != only (the parser allows nothing else on text): equality needs no collation.
  return `${column} ${comparator} ${placeholder}`;
}

function condition(clause: Clause, params: SqlParams): string {
  switch (clause.entity) {
    case "metric":
      return `EXISTS (SELECT 1 FROM "LatestMetric" m WHERE m."runId" = r.id AND m.key = ${params.add(clause.key)} AND ${compare("m.value", clause, params)})`;
    case "param":
      return `EXISTS (SELECT 1 FROM "RunParam" p WHERE p."runId" = r.id AND p.key = ${params.add(clause.key)} AND ${compare("p.value", clause, params)})`;
    case "tag":
      // The run name is a column; MLflow keeps it as a tag too.
      if (clause.key === RUN_NAME_TAG) return compare("r.name", clause, params);
      return `EXISTS (SELECT 1 FROM "RunTag" t WHERE t."runId" = r.id AND t.key = ${params.add(clause.key)} AND ${compare("t.value", clause, params)})`;
    case "attribute":
      return `${compare(ATTRIBUTE_SQL[clause.key] as string, clause, params)}`;
  }
}

function orderTerm(order: OrderBy, params: SqlParams): { rank: string; value: string } {
  const dir = order.ascending ? "ASC" : "DESC";
  if (order.entity === "attribute") {
    const column = ATTRIBUTE_SQL[order.key] as string;
    const collated =
      order.key === "start_time" || order.key === "end_time" ? column : `${column} COLLATE "C"`;
    return { rank: `(${column} IS NULL)`, value: `${collated} ${dir}` };
  }
  const key = params.add(order.key);
  if (order.entity === "metric") {
    const value = `(SELECT value FROM "LatestMetric" m WHERE m."runId" = r.id AND m.key = ${key})`;
    return {
      rank: `(CASE WHEN ${value} IS NULL THEN 2 WHEN ${value} = 'NaN'::float8 THEN 1 ELSE 0 END)`,
      value: `${value} ${dir}`,
    };
  }
  const value =
    order.entity === "tag" && order.key === RUN_NAME_TAG
      ? "r.name"
      : order.entity === "param"
        ? `(SELECT value FROM "RunParam" p WHERE p."runId" = r.id AND p.key = ${key})`
        : `(SELECT value FROM "RunTag" t WHERE t."runId" = r.id AND t.key = ${key})`;
  return { rank: `(${value} IS NULL)`, value: `${value} COLLATE "C" ${dir}` };
}

export interface RunSearch {
  experimentIds: number[];
  filter?: string;
  viewType: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
  orderBy: string[];
  maxResults: number;
  pageToken?: string;
}

export function decodePageToken(token: string | undefined): number {
  if (!token) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { offset?: unknown };
    if (
      Number.isInteger(parsed.offset) &&
      (parsed.offset as number) > 0 &&
      (parsed.offset as number) <= 2 ** 31
    )
      return parsed.offset as number;
  } catch {}
  throw new MlflowError("INVALID_PARAMETER_VALUE", "invalid page token: it is not one this server returned");
}

export const encodePageToken = (offset: number) => Buffer.from(JSON.stringify({ offset })).toString("base64");

/** The SQL (and its parameters) that selects the page's run ids, one more than the page. */
export function runSearchSql(search: RunSearch): { sql: string; params: unknown[]; offset: number } {
  const params = new SqlParams();
  const where = [`r."experimentId" = ANY(${params.add(search.experimentIds)}::int[])`];
  if (search.viewType === "ACTIVE_ONLY") where.push(`r."deletedAt" IS NULL`);
  if (search.viewType === "DELETED_ONLY") where.push(`r."deletedAt" IS NOT NULL`);
  for (const clause of parseFilter(search.filter)) where.push(condition(clause, params));

  const orders = search.orderBy.map(parseOrderBy);
  const terms = orders.flatMap((order) => {
    const term = orderTerm(order, params);
    return [term.rank, term.value];
  });
  if (!orders.some((o) => o.entity === "attribute" && o.key === "start_time"))
    terms.push(`${START_TIME_SQL} DESC`);
  terms.push("r.uuid ASC");
  const offset = decodePageToken(search.pageToken);
  const sql = `SELECT r.id FROM "Run" r WHERE ${where.join(" AND ")} ORDER BY ${terms.join(", ")}
    LIMIT ${params.add(search.maxResults + 1)} OFFSET ${params.add(offset)}`;
  return { sql, params: params.values, offset };
}
