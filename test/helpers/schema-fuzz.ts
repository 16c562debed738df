// Fuzz inputs derived from the API's own zod schemas (as JSON Schema), so that no input field
// escapes: every field of every procedure and MLflow endpoint gets the values at and past its
// declared range, the edges of PostgreSQL's int4 and int8 columns (a schema without a bound
// meets them too), over-long text and lists, and JSON nested past any parser's patience.
import fc from "fast-check";
import { z } from "zod";
import { appRouter } from "@/server/api/root";
import { MLFLOW_ENDPOINTS } from "@/server/mlflow/http";
import type { FuzzRequest } from "./api-fuzz";

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
}

export function toJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { unrepresentable: "any", io: "input" }) as JsonSchema;
}

/** tRPC stacks inputs (a middleware's and the procedure's): one object with all their fields. */
function merged(schemas: JsonSchema[]): JsonSchema {
  if (schemas.length === 1) return schemas[0] as JsonSchema;
  return {
    type: "object",
    properties: Object.assign({}, ...schemas.map((s) => s.properties ?? {})),
    required: schemas.flatMap((s) => s.required ?? []),
  };
}

const options = (s: JsonSchema) => s.anyOf ?? s.oneOf ?? s.allOf;
const types = (s: JsonSchema) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** A value the schema accepts (or nearly: refinements are invisible here). */
export function validValue(s: JsonSchema): unknown {
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const alternatives = options(s);
  if (alternatives?.length) return validValue(alternatives[0] as JsonSchema);
  const [type] = types(s);
  switch (type) {
    case "object":
      return Object.fromEntries(
        (s.required ?? []).map((key) => [key, validValue(s.properties?.[key] ?? {})]),
      );
    case "array":
      return Array.from({ length: s.minItems ?? 0 }, () => validValue(s.items ?? {}));
    case "integer":
    case "number":
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
    case "string":
      return "x".repeat(Math.max(1, s.minLength ?? 1));
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return "x";
  }
}

/** JSON nested `depth` levels deep, as an object or an array. */
export const nested = (depth: number, kind: "object" | "array"): unknown =>
  JSON.parse(
    kind === "array"
      ? `${"[".repeat(depth)}${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  );

const INT4 = 2 ** 31;
/** Past int4, int8 and double's exact integers, and the column types' other edges. */
const COLUMN_EDGES = [INT4 - 1, INT4, -INT4 - 1, 2 ** 32, 2 ** 53 + 2, 2 ** 63, -(2 ** 63), 1e308, 0.5, -1];

/** The values that test a field: its declared edges and just past them, and the columns'. */
export function edgeValues(s: JsonSchema): unknown[] {
  const values: unknown[] = [];
  const alternatives = options(s);
  if (alternatives) for (const alt of alternatives) values.push(...edgeValues(alt));
  for (const type of types(s)) {
    if (type === "integer" || type === "number") {
      const low = s.minimum ?? s.exclusiveMinimum;
      const high = s.maximum ?? s.exclusiveMaximum;
      if (low !== undefined) values.push(low, low - 1);
      if (high !== undefined) values.push(high, high + 1);
      values.push(...COLUMN_EDGES);
    } else if (type === "string") {
      const max = s.maxLength ?? 100_000;
      values.push("x".repeat(Math.min(max + 1, 1_000_000)), "", "\u0000", 12);
    } else if (type === "array") {
      const item = validValue(s.items ?? {});
      values.push(
        Array.from({ length: (s.maxItems ?? 10_000) + 1 }, () => item),
        "not a list",
      );
    } else if (type === "object") {
      values.push(nested(64, "object"), nested(2_000, "object"), [], "not an object");
    } else if (type === "boolean") values.push("true", 1);
  }
  // A field of any type (z.unknown(), a record's values): deep JSON is what breaks storage.
  if (!types(s).length && !alternatives && s.enum === undefined && s.const === undefined)
    values.push(nested(64, "object"), nested(1_000, "array"), nested(2_000, "object"));
  if (s.enum) values.push(`${String(s.enum[0])}-not-one-of-them`);
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = typeof v === "string" && v.length > 100 ? `${v.length}` : JSON.stringify(v);
    return !seen.has(key) && seen.add(key);
  });
}

export interface FieldPath {
  path: string[];
  schema: JsonSchema;
}

/** Every field reachable in the schema (through objects, lists and records), down to `depth`. */
export function fieldPaths(s: JsonSchema, path: string[] = [], depth = 6): FieldPath[] {
  const found: FieldPath[] = [{ path, schema: s }];
  if (depth === 0) return found;
  const alternatives = options(s);
  if (alternatives) for (const alt of alternatives) found.push(...fieldPaths(alt, path, depth - 1).slice(1));
  for (const [key, child] of Object.entries(s.properties ?? {}))
    found.push(...fieldPaths(child, [...path, key], depth - 1));
  if (s.items) found.push(...fieldPaths(s.items, [...path, "0"], depth - 1));
  if (typeof s.additionalProperties === "object")
    found.push(...fieldPaths(s.additionalProperties, [...path, "k"], depth - 1));
  return found;
}

/** `base` with `value` put at `path`, making the objects and one-item lists on the way. */
export function withValueAt(base: unknown, path: string[], value: unknown): unknown {
  if (!path.length) return value;
  const [head, ...rest] = path as [string, ...string[]];
  if (head === "0" && (Array.isArray(base) || base === undefined)) {
    const list = Array.isArray(base) && base.length ? [...base] : [undefined];
    list[0] = withValueAt(list[0], rest, value);
    return list;
  }
  const object = base && typeof base === "object" && !Array.isArray(base) ? { ...(base as object) } : {};
  (object as Record<string, unknown>)[head] = withValueAt(
    (object as Record<string, unknown>)[head],
    rest,
    value,
  );
  return object;
}

export interface SchemaTarget {
  /** "trpc:worker.claim" or "mlflow:runs/log-batch". */
  name: string;
  schema: JsonSchema;
  request: (input: unknown) => FuzzRequest;
}

/** Every procedure and MLflow endpoint that takes input, with how to send an input to it. */
export function schemaTargets(mlflowRunId: string): SchemaTarget[] {
  const record = (
    appRouter as unknown as {
      _def: { procedures: Record<string, { _def: { type: string; inputs: z.ZodType[] } }> };
    }
  )._def.procedures;
  const targets: SchemaTarget[] = [];
  for (const [path, { _def }] of Object.entries(record)) {
    const { type, inputs } = _def;
    if (!inputs.length || type === "subscription") continue;
    targets.push({
      name: `trpc:${path}`,
      schema: merged(inputs.map(toJsonSchema)),
      request: (input): FuzzRequest =>
        type === "query"
          ? {
              method: "GET",
              path: `/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input) ?? "null").slice(0, 14_000)}`,
              headers: {},
            }
          : {
              method: "POST",
              path: `/api/trpc/${path}`,
              headers: { "content-type": "application/json" },
              body: JSON.stringify(input),
            },
    });
  }
  for (const [endpoint, e] of Object.entries(MLFLOW_ENDPOINTS)) {
    if (!e.methods.includes("POST")) continue;
    const schema = toJsonSchema(e.schema as z.ZodType);
    targets.push({
      name: `mlflow:${endpoint}`,
      schema,
      request: (input) => ({
        method: "POST",
        path: `/api/2.0/mlflow/${endpoint}`,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(
          input && typeof input === "object" && !Array.isArray(input) && "run_id" in (schema.properties ?? {})
            ? { run_id: mlflowRunId, ...input }
            : input,
        ),
      }),
    });
  }
  return targets;
}

/** Every (target, field, edge value): the whole sweep, in a fixed order. */
export function edgeRequests(targets: SchemaTarget[]) {
  const requests: { target: string; field: string; request: ReturnType<SchemaTarget["request"]> }[] = [];
  for (const target of targets) {
    const base = validValue(target.schema);
    for (const field of fieldPaths(target.schema))
      for (const value of edgeValues(field.schema))
        requests.push({
          target: target.name,
          field: field.path.join(".") || "(input)",
          request: target.request(withValueAt(base, field.path, value)),
        });
  }
  return requests;
}

/** The same edges, drawn at random into otherwise valid inputs, for the random fuzzer's mix. */
export function schemaRequest(targets: SchemaTarget[]) {
  return fc.constantFrom(...targets).chain((target) => {
    const fields = fieldPaths(target.schema);
    return fc
      .array(
        fc
          .constantFrom(...fields)
          .chain((f) => fc.constantFrom(...edgeValues(f.schema)).map((v) => [f.path, v] as const)),
        { minLength: 1, maxLength: 3 },
      )
      .map((edits) => {
        let input = validValue(target.schema);
        for (const [path, v] of edits) input = withValueAt(input, path, v);
        return target.request(input);
      });
  });
}
