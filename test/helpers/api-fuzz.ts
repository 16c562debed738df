// Property-based fuzzing of a real Labbook server: every tRPC procedure and every HTTP route
// gets generated inputs (wrong types, out-of-range numbers, huge and deeply nested JSON, odd
// Unicode, malformed multipart, PNG and JPEG bodies). Each answer must be below 500 and leak no
// internals; a refused request must store nothing (row counts of every table before and after).
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import fc from "fast-check";
import { zipSync } from "fflate";
import jpeg from "jpeg-js";
import pg from "pg";
import { PNG } from "pngjs";
import { appRouter } from "@/server/api/root";
import { createApiToken } from "@/server/auth/tokens";
import { createDb } from "@/server/db/client";
import { applyMigrations } from "@/server/db/migrate";
import { MLFLOW_ENDPOINTS } from "@/server/mlflow/http";
import { LabbookClient } from "@/trainer/worker/client";
import { startLabbook } from "../../scripts/lib/labbook-process";
import { createDatabase, dropDatabase } from "./database";
import { asTheirWorker } from "./held-run";
import { succeededRunWithModel } from "./registered-model";
import { edgeRequests, schemaRequest, schemaTargets } from "./schema-fuzz";
import { writeSyntheticCifar } from "./synthetic-cifar";

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

export interface FuzzFailure {
  request: FuzzRequest;
  status: number;
  problem: string;
  excerpt: string;
}

export interface FuzzTargets {
  /** A model with a production alias, so predict bodies reach the decoder. */
  modelName: string;
  adminToken: string;
  /** A live MLflow run and its experiment, so MLflow requests reach the handlers. */
  mlflowRunId: string;
  mlflowExperimentId: string;
}

/** What an answer must never show: driver messages, SQL, source paths, stack frames. */
export const LEAKS =
  /prisma|invalid `|\.tsx?:\d|\bSELECT\b.*\bFROM\b|node_modules|\n\s+at |integer out of range|ECONNREFUSED|TypeError|ReferenceError|Cannot read propert|is not a function/i;

/** Every procedure of the API, with its kind: the fuzzer covers them all, new ones included. */
export function procedures(): { path: string; type: "query" | "mutation" }[] {
  const record = (
    appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } }
  )._def.procedures;
  return Object.entries(record)
    .filter(([, p]) => p._def.type !== "subscription")
    .map(([path, p]) => ({ path, type: p._def.type as "query" | "mutation" }));
}

/* ---------- Values ---------- */

/** Percent-encoding that survives lone surrogates (they become the bytes of U+D800). */
function uri(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80";
  }
}

const oddStrings = fc.constantFrom(
  "",
  " ",
  "\u0000",
  "\u202egnp.exe",
  "\ud800",
  "𝓁𝒶𝒷𝒷𝑜𝑜𝓀",
  "Ω≈ç√∫",
  "a".repeat(10_000),
  "../../../../etc/passwd",
  "%00",
  "1e400",
  "NaN",
  "-0",
  "true",
  "null",
  "__proto__",
  "constructor",
  "=cmd|' /C calc'!A0",
  '\'; DROP TABLE "Run"; --',
  "production",
  "loss",
  "val_accuracy",
);
const oddNumbers = fc.constantFrom(
  0,
  -1,
  1,
  2,
  3,
  0.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  1e308,
  -1e308,
  5e-324,
  1e21,
);

const leaf = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -5, max: 30 }) },
  { weight: 3, arbitrary: oddNumbers },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: oddStrings },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(tie("value"), { maxLength: 6 }) },
    {
      weight: 1,
      arbitrary: fc.dictionary(fc.oneof(oddStrings, fc.string({ maxLength: 8 })), tie("value"), {
        maxKeys: 4,
      }),
    },
  ),
})).value;

/** Field names the API's schemas use: records of them get past the top-level type check. */
const FIELDS = [
  "id",
  "ids",
  "runId",
  "runIds",
  "experimentId",
  "name",
  "description",
  "keys",
  "key",
  "step",
  "value",
  "points",
  "limit",
  "cursor",
  "version",
  "alias",
  "note",
  "workerId",
  "epoch",
  "config",
  "runs",
  "seeds",
  "deleted",
  "archived",
  "sort",
  "after",
  "maxPoints",
  "progress",
  "leaseMs",
  "status",
  "error",
  "evaluation",
  "lines",
  "split",
  "modelEpoch",
  "includeArchived",
  "search",
  "priority",
  "field",
  "dir",
  "normalization",
  "epochs",
  "batchSize",
  "learningRate",
  "seed",
  "dropout",
  "augmentation",
  "filters",
  "wallTime",
  "hostname",
  "backend",
  "batch",
  "total",
] as const;

const inputs = fc.oneof(
  { weight: 2, arbitrary: value },
  {
    weight: 5,
    arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), value, { minKeys: 1, maxKeys: 6 }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      config: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 5 }),
      runs: fc.array(fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 4 }), { maxLength: 3 }),
      name: oddStrings,
    }),
  },
);

/** JSON text no schema expects: 100,000 levels of nesting, a 2 MB array, or broken syntax. */
const awkwardJson = fc.oneof(
  fc.integer({ min: 1_000, max: 100_000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
  fc.integer({ min: 1_000, max: 100_000 }).map((depth) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`),
  fc.constant(JSON.stringify(Array.from({ length: 200_000 }, (_, i) => i))),
  fc.constantFrom("{", "[1,", '{"id":1,}', "\u0000", '{"id": 1e99999}', '"\\ud800"', ""),
  fc.string({ unit: "binary", maxLength: 200 }),
);

const who = fc.constantFrom<"local" | "admin" | "remote" | "bogus">(
  "local",
  "local",
  "admin",
  "remote",
  "bogus",
);

function identityHeaders(
  kind: "local" | "admin" | "remote" | "bogus",
  targets: FuzzTargets,
): Record<string, string> {
  if (kind === "admin") return { authorization: `Bearer ${targets.adminToken}` };
  if (kind === "remote") return { "x-forwarded-for": "203.0.113.77" };
  if (kind === "bogus") return { authorization: "Bearer lbk_not-a-token" };
  return {};
}

/* ---------- Bodies ---------- */

function smallPng(): Buffer {
  const png = new PNG({ width: 8, height: 8 });
  png.data.fill(128);
  return PNG.sync.write(png);
}
function smallJpeg(): Buffer {
  const data = Buffer.alloc(8 * 8 * 4, 200);
  return jpeg.encode({ data, width: 8, height: 8 }, 80).data;
}
const PNG_BYTES = smallPng();
const JPEG_BYTES = smallJpeg();

/** A valid file with bytes flipped, cut short, or its header's size changed. */
function mangled(base: Buffer): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc
      .array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      })
      .map((flips) => {
        const copy = Buffer.from(base);
        for (const [at, byte] of flips) copy[at] = byte;
        return copy;
      }),
    fc.nat({ max: base.length - 1 }).map((cut) => base.subarray(0, cut)),
    fc
      .tuple(
        fc.constantFrom(0, 1, 65_535, 2 ** 31 - 1, 2 ** 32 - 1),
        fc.constantFrom(0, 1, 65_535, 2 ** 31 - 1),
      )
      .map(([width, height]) => {
        const copy = Buffer.from(base);
        if (copy.subarray(12, 16).toString() === "IHDR") {
          copy.writeUInt32BE(width, 16);
          copy.writeUInt32BE(height, 20);
        }
        return copy;
      }),
  );
}

const imageBody = fc.oneof(
  mangled(PNG_BYTES),
  mangled(JPEG_BYTES),
  fc.uint8Array({ maxLength: 4096 }),
  fc.constant(new Uint8Array(0)),
  fc.constant(PNG_BYTES as Uint8Array),
);

function multipart(boundary: string, parts: { name: string; filename?: string; body: Uint8Array }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ""}`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`),
      Buffer.from(part.body),
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** Multipart envelopes, some well-formed around a bad image, some broken themselves. */
const multipartBody = fc
  .record({
    boundary: fc.oneof(fc.constant("xyz"), fc.string({ minLength: 1, maxLength: 70 })),
    declared: fc.oneof(fc.constant<string | null>(null), fc.string({ maxLength: 70 })),
    name: fc.constantFrom("image", "file", "", 'image"; x="1'),
    filename: fc.option(oddStrings, { nil: undefined }),
    body: imageBody,
    truncate: fc.option(fc.nat({ max: 300 }), { nil: undefined }),
  })
  .map(({ boundary, declared, name, filename, body, truncate }) => {
    const bytes = multipart(boundary, [{ name, filename, body }]);
    return {
      contentType: `multipart/form-data; boundary=${declared ?? boundary}`,
      body: truncate === undefined ? bytes : bytes.subarray(0, truncate),
    };
  });

/* ---------- Requests ---------- */

const segment = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 12 }).map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "0",
      "-1",
      "2147483648",
      "1e3",
      "1.5",
      "abc",
      "%2e%2e%2f",
      "..%2F..%2Fetc",
      "%00",
      "%",
      "%E0%A4%A",
      "%F0%9F%92%A9",
      "x".repeat(500),
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }).map(uri) },
);

function trpcRequest(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const all = procedures();
  return fc
    .record({
      procedure: fc.constantFrom(...all),
      input: inputs,
      awkward: fc.option(awkwardJson, { freq: 6, nil: undefined }),
      who,
      contentType: fc.constantFrom(
        "application/json",
        "application/json",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
      ),
    })
    .map(({ procedure, input, awkward, who: kind, contentType }) => {
      const text = awkward ?? JSON.stringify(input) ?? "null";
      const headers = identityHeaders(kind, targets);
      if (procedure.type === "query")
        return {
          method: "GET",
          // Past Node's 16 KB header limit the server answers 431 and closes the socket while
          // a longer URL is still being sent, which fetch reports as a failure: stay near it.
          path: `/api/trpc/${procedure.path}?input=${uri(text.slice(0, 20_000))}`,
          headers,
        };
      return {
        method: "POST",
        path: `/api/trpc/${procedure.path}`,
        headers: { ...headers, "content-type": contentType },
        body: text,
      };
    });
}

function routeRequest(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const headersOf = (kind: "local" | "admin" | "remote" | "bogus") => identityHeaders(kind, targets);
  return fc.oneof(
    fc
      .record({
        method: fc.constantFrom("GET", "PUT", "POST", "DELETE"),
        id: segment,
        name: fc.oneof(fc.constantFrom("weights.bin", "model.json", "checkpoint"), segment),
        who,
        kind: fc.oneof(fc.constantFrom("model", "checkpoint", "other"), oddStrings),
        sha: fc.oneof(fc.constant("0".repeat(64)), oddStrings),
        body: fc.uint8Array({ maxLength: 2048 }),
      })
      .map(({ method, id, name, who: k, kind, sha, body }) => ({
        method,
        path: `/api/runs/${id}/artifacts/${name}`,
        headers: {
          ...headersOf(k),
          "x-labbook-artifact-kind": uri(kind),
          "x-labbook-sha256": uri(sha),
        },
        body: method === "GET" || method === "DELETE" ? undefined : body,
      })),
    fc
      .record({ id: segment, format: fc.oneof(fc.constantFrom("csv", "json"), segment), who })
      .map(({ id, format, who: k }) => ({
        method: "GET",
        path: `/api/runs/${id}/metrics?format=${format}`,
        headers: headersOf(k),
      })),
    fc.record({ id: segment, who }).map(({ id, who: k }) => ({
      method: "GET",
      path: `/api/experiments/${id}/runs.csv`,
      headers: headersOf(k),
    })),
    fc
      .record({ split: fc.oneof(fc.constant("test"), segment), index: segment, scale: segment })
      .map(({ split, index, scale }) => ({
        method: "GET",
        path: `/api/dataset/${split}/${index}?scale=${scale}`,
        headers: {},
      })),
    fc
      .record({
        name: fc.oneof(
          { weight: 4, arbitrary: fc.constant(targets.modelName) },
          { weight: 1, arbitrary: segment },
        ),
        query: fc.oneof(
          fc.constant(""),
          segment.map((v) => `?version=${v}`),
          segment.map((v) => `?alias=${v}`),
        ),
        upload: fc.oneof(
          fc.record({
            contentType: fc.constantFrom("image/png", "image/jpeg", "application/octet-stream", ""),
            body: imageBody,
          }),
          multipartBody,
        ),
        who,
      })
      .map(({ name, query, upload, who: k }) => ({
        method: "POST",
        path: `/api/models/${name}/predict${query}`,
        headers: { ...headersOf(k), ...(upload.contentType ? { "content-type": upload.contentType } : {}) },
        body: upload.body,
      })),
    fc
      .record({
        name: fc.oneof(fc.constant("fuzzed set"), oddStrings),
        model: fc.oneof(
          { weight: 3, arbitrary: fc.constant(targets.modelName) },
          { weight: 1, arbitrary: segment },
        ),
        synonyms: fc.option(fc.oneof(fc.constant('{"car":"automobile"}'), oddStrings)),
        score: fc.option(fc.oneof(fc.constant("all"), segment)),
        // Never decodable images: an accepted set must not go on storing rows in the background.
        body: fc.oneof(
          fc.uint8Array({ maxLength: 4096 }),
          fc
            .array(
              fc.tuple(
                fc.oneof(
                  fc.constantFrom(
                    "cat/a.png",
                    "../x.png",
                    "/abs.png",
                    "spaceship/b.png",
                    "a\\b.png",
                    "cat/in.zip",
                    "labels.csv",
                  ),
                  oddStrings,
                ),
                fc.uint8Array({ maxLength: 256 }),
              ),
              { maxLength: 6 },
            )
            // fflate reads its input as an object: "__proto__" cannot be a name in it.
            .map((entries) => zipSync(Object.fromEntries(entries.filter(([name]) => name !== "__proto__")))),
        ),
        contentType: fc.constantFrom("application/zip", "application/octet-stream", "text/plain", ""),
        who,
      })
      .map(({ name, model, synonyms, score, body, contentType, who: k }) => {
        const query = new URLSearchParams({ name, model });
        if (synonyms !== null) query.set("synonyms", synonyms);
        if (score !== null) query.set("score", score);
        return {
          method: "POST",
          path: `/api/evaluation-sets?${query}`,
          headers: { ...headersOf(k), ...(contentType ? { "content-type": contentType } : {}) },
          body,
        };
      }),
    fc.record({ id: segment, index: segment, who }).map(({ id, index, who: k }) => ({
      method: "GET",
      path: `/api/evaluation-sets/${id}/images/${index}`,
      headers: headersOf(k),
    })),
    fc
      .record({
        body: fc.oneof(
          inputs.map((v) => JSON.stringify(v) ?? ""),
          awkwardJson,
        ),
        type: fc.constantFrom("application/json", "text/plain"),
      })
      .map(({ body, type }) => ({
        method: "POST",
        path: "/api/auth/signin",
        headers: { "content-type": type, "x-forwarded-for": "203.0.113.78" },
        body,
      })),
    fc.constant({ method: "POST", path: "/api/auth/signout", headers: {} }),
    fc
      .record({ a: segment, b: segment, method: fc.constantFrom("GET", "POST", "PATCH") })
      .map(({ a, b, method }) => ({ method, path: `/api/${a}/${b}`, headers: {} })),
  );
}

/** Fields of MLflow's requests (mlflow/protos/service.proto). */
const MLFLOW_FIELDS = [
  "run_id",
  "run_uuid",
  "experiment_id",
  "experiment_ids",
  "experiment_name",
  "name",
  "new_name",
  "key",
  "value",
  "timestamp",
  "step",
  "metrics",
  "params",
  "tags",
  "datasets",
  "model_json",
  "filter",
  "order_by",
  "max_results",
  "page_token",
  "run_view_type",
  "view_type",
  "status",
  "start_time",
  "end_time",
  "run_name",
  "user_id",
  "metric_key",
  "artifact_location",
] as const;

const mlflowFilters = fc.constantFrom(
  "metrics.acc > 0.5",
  "params.lr = '0.1' AND tags.t LIKE 'a%'",
  "attributes.status IN ('FINISHED', 'FAILED')",
  "attributes.run_id NOT IN ('x')",
  "metrics.`a b` <= -1e308",
  "params.x = 'it\\'s'",
  "metrics.acc > 0.5 OR 1=1",
  "tags.`unterminated",
  "attributes.start_time >= 99999999999999999999",
  "((((",
);

function mlflowInput(targets: FuzzTargets): fc.Arbitrary<Record<string, unknown>> {
  const runId = fc.oneof(
    { weight: 4, arbitrary: fc.constant(targets.mlflowRunId) },
    { weight: 1, arbitrary: fc.constantFrom("0".repeat(32), "abc", "") },
    { weight: 1, arbitrary: oddStrings },
  );
  const experimentId = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(targets.mlflowExperimentId, "0") },
    { weight: 1, arbitrary: fc.constantFrom("-1", "2147483648", "1e3", "99999999999") },
    { weight: 1, arbitrary: value },
  );
  const key = fc.oneof(fc.constantFrom("acc", "lr", "mlflow.runName", "a b", "x/y", "../z"), oddStrings);
  const entry = fc.record(
    {
      key,
      value: fc.oneof(value, fc.constantFrom("NaN", "Infinity", "-Infinity")),
      timestamp: value,
      step: value,
    },
    { requiredKeys: [] },
  );
  const field: fc.Arbitrary<[string, unknown]> = fc.oneof(
    fc.tuple(fc.constant("run_id"), runId),
    fc.tuple(fc.constant("experiment_id"), experimentId),
    fc.tuple(fc.constant("experiment_ids"), fc.array(experimentId, { maxLength: 3 })),
    fc.tuple(fc.constantFrom("metrics", "params", "tags"), fc.array(entry, { maxLength: 4 })),
    fc.tuple(fc.constant("filter"), fc.oneof(mlflowFilters, oddStrings)),
    fc.tuple(fc.constant("order_by"), fc.array(fc.oneof(mlflowFilters, oddStrings, key), { maxLength: 3 })),
    fc.tuple(fc.constant("key"), key),
    fc.tuple(fc.constantFrom(...MLFLOW_FIELDS), value),
  );
  return fc
    .array(field, { minLength: 1, maxLength: 6 })
    .map((fields) => ({ run_id: targets.mlflowRunId, ...Object.fromEntries(fields) }));
}

function mlflowRequest(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  const endpoints = Object.entries(MLFLOW_ENDPOINTS);
  const tracking = fc
    .record({
      endpoint: fc.constantFrom(...endpoints),
      prefix: fc.constantFrom("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"),
      input: mlflowInput(targets),
      awkward: fc.option(awkwardJson, { freq: 8, nil: undefined }),
      wrongMethod: fc.boolean(),
      who,
    })
    .map(({ endpoint: [name, e], prefix, input, awkward, wrongMethod, who: kind }) => {
      const headers = identityHeaders(kind, targets);
      const get = wrongMethod ? !e.methods.includes("GET") : e.methods[0] === "GET" || e.methods.length > 1;
      if (get) {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(input))
          for (const item of Array.isArray(v) ? v : [v])
            query.append(k, typeof item === "string" ? item : (JSON.stringify(item) ?? ""));
        return { method: "GET", path: `${prefix}${name}?${query.toString().slice(0, 8000)}`, headers };
      }
      return {
        method: "POST",
        path: `${prefix}${name}`,
        headers: { ...headers, "content-type": "application/json" },
        body: awkward ?? JSON.stringify(input) ?? "null",
      };
    });
  const artifactPath = fc.oneof(
    fc.constantFrom("model/MLmodel", "evaluation.json", "a/b/c.txt", "", "../x", "a//b", "%2e%2e/x", "a%00b"),
    segment,
  );
  const artifacts = fc
    .record({
      method: fc.constantFrom("GET", "PUT", "DELETE", "POST"),
      experiment: fc.oneof(fc.constant(targets.mlflowExperimentId), segment),
      run: fc.oneof(fc.constant(targets.mlflowRunId), segment),
      file: artifactPath,
      list: fc.boolean(),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constant(new TextEncoder().encode('{"classes": [], "confusion_matrix": [[1]]}')),
      ),
      who,
    })
    .map(({ method, experiment, run, file, list, body, who: kind }) => {
      const folder = `${experiment}/${run}/artifacts`;
      if (list && method === "GET")
        return {
          method,
          path: `/api/2.0/mlflow-artifacts/artifacts?path=${uri(file ? `${folder}/${file}` : folder)}`,
          headers: identityHeaders(kind, targets),
        };
      return {
        method,
        path: `/api/2.0/mlflow-artifacts/artifacts/${folder}/${file}`,
        headers: identityHeaders(kind, targets),
        body: method === "PUT" || method === "POST" ? body : undefined,
      };
    });
  return fc.oneof({ weight: 4, arbitrary: tracking }, { weight: 1, arbitrary: artifacts });
}

const pageRequest = fc
  .record({
    page: fc.constantFrom(
      "/runs/",
      "/experiments/",
      "/models/",
      "/compare?runs=",
      "/signin?next=",
      "/predict?x=",
    ),
    arg: segment,
    // Posts as Next.js's Server Actions and progressive forms send them.
    post: fc.option(
      fc.record({
        action: fc.option(
          fc.oneof(
            fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 40, maxLength: 42 }),
            oddStrings,
          ),
          {
            nil: undefined,
          },
        ),
        type: fc.constantFrom(
          "text/plain;charset=UTF-8",
          "multipart/form-data; boundary=x",
          "application/x-www-form-urlencoded",
        ),
      }),
      { nil: undefined },
    ),
  })
  .map(({ page, arg, post }) =>
    post
      ? {
          method: "POST",
          path: `${page}${arg}`,
          headers: { "content-type": post.type, ...(post.action ? { "next-action": uri(post.action) } : {}) },
          body: "[]",
        }
      : { method: "GET", path: `${page}${arg}`, headers: {} },
  );

export function requests(targets: FuzzTargets): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { weight: 12, arbitrary: trpcRequest(targets) },
    { weight: 6, arbitrary: schemaRequest(schemaTargets(targets.mlflowRunId)) },
    { weight: 6, arbitrary: routeRequest(targets) },
    { weight: 5, arbitrary: mlflowRequest(targets) },
    { weight: 1, arbitrary: pageRequest },
  );
}

/* ---------- Running ---------- */

/** Row counts of every table, in one query. */
export async function rowCounts(client: pg.Client): Promise<Record<string, number>> {
  const tables = await client.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_prisma%' ORDER BY 1`,
  );
  const sql = `SELECT json_build_object(${tables.rows.map((t) => `'${t.name}', (SELECT count(*) FROM "${t.name}")`).join(", ")}) AS counts`;
  const { rows } = await client.query<{ counts: Record<string, number> }>(sql);
  return rows[0]?.counts ?? {};
}

export async function send(baseUrl: string, request: FuzzRequest): Promise<{ status: number; text: string }> {
  const response = await fetch(new URL(request.path, baseUrl), {
    method: request.method,
    headers: request.headers,
    body: request.body as BodyInit | undefined,
    redirect: "manual",
    signal: AbortSignal.timeout(60_000),
  });
  const text = (await response.text()).slice(0, 65_536);
  return { status: response.status, text };
}

/**
 * Sends `count` generated requests one at a time (so each refused one's row counts are its own)
 * and returns every failure found, not just the first. With `sweep`, first every field's edge
 * values (schema-fuzz.ts), each in an otherwise valid input.
 */
export async function fuzzApi(options: {
  baseUrl: string;
  databaseUrl: string;
  targets: FuzzTargets;
  count: number;
  seed: number;
  sweep?: boolean;
  onProgress?: (done: number, failures: number) => void;
}): Promise<{ failures: FuzzFailure[]; statuses: Record<string, number> }> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  const failures: FuzzFailure[] = [];
  const statuses: Record<string, number> = {};
  try {
    const swept = options.sweep ? edgeRequests(schemaTargets(options.targets.mlflowRunId)) : [];
    const all = [
      ...swept.map((edge) => edge.request),
      ...(options.count
        ? fc.sample(requests(options.targets), { numRuns: options.count, seed: options.seed })
        : []),
    ];
    for (const [i, request] of all.entries()) {
      const before = await rowCounts(client);
      let status = 0;
      let text = "";
      try {
        ({ status, text } = await send(options.baseUrl, request));
      } catch (error) {
        text = String(error);
      }
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
      const excerpt = text.slice(0, 300);
      if (status === 0 || status >= 500)
        failures.push({ request, status, problem: "no answer or 5xx", excerpt });
      else if (LEAKS.test(text)) failures.push({ request, status, problem: "leaked internals", excerpt });
      else if (status >= 400) {
        const after = await rowCounts(client);
        const changed = Object.keys(after).filter((t) => after[t] !== before[t]);
        if (changed.length)
          failures.push({
            request,
            status,
            problem: `refused, yet stored rows in ${changed.join(", ")}`,
            excerpt,
          });
      }
      options.onProgress?.(i + 1, failures.length);
    }
  } finally {
    await client.end();
  }
  return { failures, statuses };
}

/** One line per failure, short enough to read. */
export function describeFailure(f: FuzzFailure): string {
  const body =
    f.request.body === undefined
      ? ""
      : typeof f.request.body === "string"
        ? f.request.body
        : `<${f.request.body.length} bytes>`;
  return `${f.problem} (${f.status}): ${f.request.method} ${f.request.path.slice(0, 200)} ${JSON.stringify(f.request.headers)} ${body.slice(0, 200)}\n    → ${f.excerpt}`;
}

export const randomSeed = () => randomBytes(4).readUInt32BE() >>> 1;

/* ---------- A server to fuzz ---------- */

/**
 * A Labbook of its own (fresh database, synthetic test images) with something in it: runs with
 * metrics, a registered model with a production alias, and an admin token.
 */
export async function startFuzzTarget(adminUrl: string) {
  const databaseUrl = await createDatabase(adminUrl, "labbook_fuzz");
  await applyMigrations(databaseUrl);
  const dataDir = writeSyntheticCifar(20);
  const labbook = await startLabbook({
    DATABASE_URL: databaseUrl,
    LABBOOK_TRUST_PROXY: "1",
    LABBOOK_DATA_DIR: dataDir,
  });
  const db = createDb(databaseUrl);
  const api = new LabbookClient(labbook.baseUrl);
  const { runIds } = await api.mutation<{ runIds: number[] }>("experiment.create", {
    name: "fuzzed",
    runs: [{ config: { epochs: 3 }, seeds: [1, 2, 3] }],
  });
  await asTheirWorker(db, runIds, async () => {
    for (const runId of runIds)
      await api.logMetrics(
        runId,
        [1, 2, 3].map((step) => ({ key: "val_accuracy", step, value: step / 10 })),
      );
  });
  const modelName = "fuzz-model";
  await succeededRunWithModel(api, db, runIds[0] as number);
  await api.mutation("model.register", { runId: runIds[0], name: modelName });
  await api.mutation("model.promote", { name: modelName, alias: "production", version: 1 });
  const { token } = await createApiToken(db, { name: "fuzz-admin", scope: "admin" });
  await db.$disconnect();
  // An MLflow run with a param, a metric and a file, for the MLflow requests to reach.
  const mlflowPost = async (endpoint: string, body: unknown) =>
    (await (
      await fetch(new URL(`/api/2.0/mlflow/${endpoint}`, labbook.baseUrl), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })
    ).json()) as Record<string, unknown>;
  const { experiment_id: mlflowExperimentId } = await mlflowPost("experiments/create", {
    name: "fuzzed-mlflow",
  });
  const created = (await mlflowPost("runs/create", { experiment_id: mlflowExperimentId })) as unknown as {
    run: { info: { run_id: string } };
  };
  const mlflowRunId = created.run.info.run_id;
  await mlflowPost("runs/log-batch", {
    run_id: mlflowRunId,
    params: [{ key: "lr", value: "0.1" }],
    metrics: [{ key: "acc", value: 0.5, timestamp: 1, step: 0 }],
  });
  await fetch(
    new URL(
      `/api/2.0/mlflow-artifacts/artifacts/${mlflowExperimentId}/${mlflowRunId}/artifacts/a/b/c.txt`,
      labbook.baseUrl,
    ),
    {
      method: "PUT",
      body: "c",
    },
  );
  return {
    baseUrl: labbook.baseUrl,
    databaseUrl,
    targets: { modelName, adminToken: token, mlflowRunId, mlflowExperimentId: String(mlflowExperimentId) },
    output: () => labbook.output(),
    async stop() {
      await labbook.stop();
      await dropDatabase(adminUrl, databaseUrl);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
