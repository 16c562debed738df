// MLflow's REST API on Labbook's HTTP server: /api/2.0/mlflow/* (and /ajax-api/2.0/mlflow/*,
// as MLflow's UI calls it) for tracking, /api/2.0/mlflow-artifacts/* for the artifact proxy.
// Served by the plain Node server in front of Next.js: autologgers call once per step, and a
// call here costs a fraction of a Next.js route's. Bodies are bounded before they are read,
// the access rule is the API's (src/server/auth/authorize.ts), and errors are MLflow's JSON.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { z } from "zod";
import type { TokenScope } from "@/generated/prisma/client";
import { AuthError, authorize, credentialsOf } from "@/server/auth/authorize";
import type { Db } from "@/server/db/client";
import { BodyTooLargeError, largeBodies, readBounded } from "@/server/http/body";
import { MAX_ARTIFACT_BYTES } from "@/shared/artifacts";
import { describeIssue } from "@/shared/zod-issues";
import {
  deleteArtifacts,
  downloadArtifact,
  listArtifactFolder,
  resolveArtifactPath,
  uploadArtifact,
} from "./artifacts";
import { MlflowError, toMlflowError } from "./errors";
import { schemas } from "./schemas";
import * as tracking from "./tracking";

const TRACKING = /^\/(?:ajax-)?api\/2\.0\/mlflow\/([a-z-]+\/[a-z-]+)$/;
const ARTIFACTS = /^\/(?:ajax-)?api\/2\.0\/mlflow-artifacts\/artifacts(?:\/(.*))?$/;
/** JSON bodies: MLflow's largest (a log-batch of 100 long params and 100 long tags) is ~1.5 MB. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

export function isMlflowPath(path: string): boolean {
  return /^\/(?:ajax-)?api\/2\.0\/mlflow(?:-artifacts)?\//.test(path);
}

interface Endpoint<S extends z.ZodType> {
  /** GET and POST both work for reads, as MLflow's clients use either. */
  methods: readonly ("GET" | "POST")[];
  scope: TokenScope;
  schema: S;
  handle: (db: Db, input: z.output<S>, actor: string) => Promise<unknown>;
}

const endpoint = <S extends z.ZodType>(e: Endpoint<S>) => e as unknown as Endpoint<z.ZodType>;
const read = <S extends z.ZodType>(schema: S, handle: Endpoint<S>["handle"]) =>
  endpoint({ methods: ["GET", "POST"], scope: "read", schema, handle });
const write = <S extends z.ZodType>(schema: S, handle: Endpoint<S>["handle"]) =>
  endpoint({ methods: ["POST"], scope: "write", schema, handle });

const ENDPOINTS: Record<string, Endpoint<z.ZodType>> = {
  "experiments/create": write(schemas.createExperiment, (db, input) => tracking.createExperiment(db, input)),
  "experiments/get": read(schemas.experimentById, (db, input) =>
    tracking.getExperiment(db, input.experiment_id),
  ),
  "experiments/get-by-name": read(schemas.experimentByName, (db, input) =>
    tracking.getExperimentByName(db, input.experiment_name),
  ),
  "experiments/search": read(schemas.searchExperiments, (db, input) => tracking.searchExperiments(db, input)),
  "experiments/update": write(schemas.updateExperiment, (db, input) => tracking.updateExperiment(db, input)),
  "experiments/delete": write(schemas.experimentById, (db, input) =>
    tracking.setExperimentLifecycle(db, input.experiment_id, true),
  ),
  "experiments/restore": write(schemas.experimentById, (db, input) =>
    tracking.setExperimentLifecycle(db, input.experiment_id, false),
  ),
  "experiments/set-experiment-tag": write(schemas.setExperimentTag, (db, input) =>
    tracking.setExperimentTag(db, input),
  ),
  "runs/create": write(schemas.createRun, (db, input) => tracking.createRun(db, input)),
  "runs/get": read(schemas.runById, (db, input) => tracking.getRun(db, input.run_id)),
  "runs/update": write(schemas.updateRun, (db, input) => tracking.updateRun(db, input)),
  "runs/delete": write(schemas.runById, (db, input, actor) =>
    tracking.setRunLifecycle(db, input.run_id, true, actor),
  ),
  "runs/restore": write(schemas.runById, (db, input, actor) =>
    tracking.setRunLifecycle(db, input.run_id, false, actor),
  ),
  "runs/search": read(schemas.searchRuns, (db, input) => tracking.searchRuns(db, input)),
  "runs/log-metric": write(schemas.logMetric, (db, input) => tracking.logMetrics(db, input.run_id, [input])),
  "runs/log-parameter": write(schemas.logParam, (db, input) => tracking.logParam(db, input)),
  "runs/set-tag": write(schemas.setTag, (db, input) => tracking.setTag(db, input)),
  "runs/delete-tag": write(schemas.deleteTag, (db, input) => tracking.deleteTag(db, input)),
  "runs/log-batch": write(schemas.logBatch, (db, input) => tracking.logBatch(db, input)),
  "runs/log-inputs": write(schemas.logInputs, (db, input) => tracking.logInputs(db, input)),
  "runs/log-model": write(schemas.logModel, (db, input) => tracking.logModel(db, input)),
  "metrics/get-history": read(schemas.getHistory, (db, input) => tracking.getMetricHistory(db, input)),
};

/** The routes this API serves, for the fuzzer and the README. */
export const MLFLOW_ENDPOINTS = Object.fromEntries(
  Object.entries(ENDPOINTS).map(([name, e]) => [
    name,
    { methods: e.methods, scope: e.scope, schema: e.schema },
  ]),
);

/** When each request started, for its Server-Timing header (as tRPC's responses have). */
const startedAt = new WeakMap<IncomingMessage, number>();

function send(res: ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  const started = startedAt.get(res.req);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(json),
    "cache-control": "no-store",
    ...(started === undefined
      ? {}
      : { "server-timing": `app;dur=${(performance.now() - started).toFixed(1)}` }),
  });
  res.end(json);
}

function sendError(res: ServerResponse, error: MlflowError) {
  send(res, error.status, { error_code: error.code, message: error.message });
}

/** The body, refused with 413 past `limit` bytes, whatever the request declared. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readBounded(req, req.headers["content-length"], limit);
}

/** Query strings as MLflow's GETs send them: repeated keys become lists. */
function queryInput(url: URL): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    input[key] = values.length > 1 ? values : values[0];
  }
  return input;
}

async function jsonInput(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_JSON_BYTES);
  if (!body.length) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new MlflowError("BAD_REQUEST", "the request body is not valid JSON");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new MlflowError("INVALID_PARAMETER_VALUE", "the request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

async function identityFor(db: Db, req: IncomingMessage, scope: TokenScope): Promise<string> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === "string") headers.set(name, value);
  try {
    const write = req.method !== "GET" && req.method !== "HEAD";
    return (await authorize(db, credentialsOf(headers), scope, { write })).actor;
  } catch (error) {
    if (error instanceof AuthError)
      throw new MlflowError(error.status === 401 ? "UNAUTHENTICATED" : "PERMISSION_DENIED", error.message);
    throw error;
  }
}

async function handleTracking(db: Db, req: IncomingMessage, res: ServerResponse, url: URL, name: string) {
  const endpoint = ENDPOINTS[name];
  if (!endpoint) throw new MlflowError("ENDPOINT_NOT_FOUND", `no MLflow endpoint ${url.pathname}`);
  const method = req.method === "HEAD" ? "GET" : req.method;
  if (!endpoint.methods.includes(method as "GET")) {
    res.setHeader("allow", endpoint.methods.join(", "));
    throw Object.assign(
      new MlflowError("BAD_REQUEST", `${url.pathname} takes ${endpoint.methods.join(" or ")}`),
      {
        httpStatus: 405,
      },
    );
  }
  const actor = await identityFor(db, req, endpoint.scope);
  const raw = method === "GET" ? queryInput(url) : await jsonInput(req);
  // Older clients name the run run_uuid.
  if (raw.run_id === undefined && typeof raw.run_uuid === "string") raw.run_id = raw.run_uuid;
  const parsed = endpoint.schema.safeParse(raw);
  if (!parsed.success)
    throw new MlflowError("INVALID_PARAMETER_VALUE", parsed.error.issues.map(describeIssue).join("; "));
  send(res, 200, await endpoint.handle(db, parsed.data, actor));
}

async function handleArtifacts(db: Db, req: IncomingMessage, res: ServerResponse, url: URL, rawPath: string) {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new MlflowError("INVALID_PARAMETER_VALUE", "the artifact path has a malformed percent-escape");
  }
  const method = req.method === "HEAD" ? "GET" : req.method;
  const listing = method === "GET" && path === "";
  const scope: TokenScope = method === "GET" ? "read" : "write";
  if (method !== "GET" && method !== "PUT" && method !== "DELETE")
    throw new MlflowError("BAD_REQUEST", "artifacts take GET, PUT or DELETE");
  await identityFor(db, req, scope);
  if (listing) {
    const where = url.searchParams.get("path") ?? "";
    const target = where ? await resolveArtifactPath(db, where) : null;
    send(res, 200, target ? await listArtifactFolder(db, target) : {});
    return;
  }
  const target = await resolveArtifactPath(db, path);
  if (!target)
    throw new MlflowError(
      "RESOURCE_DOES_NOT_EXIST",
      `no run's artifacts at '${path.slice(0, 200)}' (paths are <experiment id>/<run id>/artifacts/<file>)`,
    );
  if (method !== "GET" && target.source === "labbook")
    throw new MlflowError(
      "PERMISSION_DENIED",
      "this run is trained by Labbook: its files come from its worker, and MLflow clients only read them",
    );
  if (method === "PUT") {
    await largeBodies(async () => {
      const bytes = await readBody(req, MAX_ARTIFACT_BYTES);
      await uploadArtifact(db, target, bytes, req.headers["content-type"] ?? "application/octet-stream");
    });
    send(res, 200, {});
  } else if (method === "DELETE") {
    await deleteArtifacts(db, target);
    send(res, 200, {});
  } else {
    const { artifact, body } = await downloadArtifact(db, target);
    const file = artifact.name.split("/").at(-1) ?? "artifact";
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": artifact.size,
      "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(file)}`,
      "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    Readable.fromWeb(body as import("node:stream/web").ReadableStream<Uint8Array>).pipe(res);
  }
}

/** Serves one MLflow request; every failure becomes MLflow's error JSON (internal ones masked). */
export async function handleMlflow(db: Db, req: IncomingMessage, res: ServerResponse): Promise<void> {
  startedAt.set(req, performance.now());
  const url = new URL(req.url ?? "/", "http://labbook");
  // The path as sent: URL parsing would resolve `.` and `..` segments, which are refused instead.
  const path = (req.url ?? "/").split("?")[0] as string;
  try {
    const tracking = TRACKING.exec(path);
    const artifacts = ARTIFACTS.exec(path);
    if (tracking) await handleTracking(db, req, res, url, tracking[1] as string);
    else if (artifacts) await handleArtifacts(db, req, res, url, artifacts[1] ?? "");
    else throw new MlflowError("ENDPOINT_NOT_FOUND", `no MLflow endpoint ${url.pathname}`);
  } catch (error) {
    if (res.headersSent) {
      res.destroy(error as Error);
      return;
    }
    if (error instanceof BodyTooLargeError) {
      // The rest of the body is read and dropped, so the client gets the answer instead of a
      // broken pipe while it is still sending.
      req.resume();
      send(res, 413, { error_code: "INVALID_PARAMETER_VALUE", message: error.message });
      return;
    }
    const known = toMlflowError(error);
    if (known) {
      const status = (error as { httpStatus?: number }).httpStatus ?? known.status;
      send(res, status, { error_code: known.code, message: known.message });
      return;
    }
    const id = randomUUID().slice(0, 8);
    console.error(`[error ${id}] MLflow ${req.method} ${url.pathname} failed:`, error);
    sendError(
      res,
      new MlflowError("INTERNAL_ERROR", `internal error ${id}; the server's log has the details`),
    );
  }
}
