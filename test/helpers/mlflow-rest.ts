// MLflow's REST API over real HTTP, as its clients call it: JSON in, JSON out, MLflow's errors.
import http from "node:http";

/** A request whose path is sent as written (fetch resolves `.` and `..` segments first). */
export function rawRequest(baseUrl: string, method: string, path: string, body = ""): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname, port, method, path, headers: { "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export interface MlflowAnswer<T = Record<string, unknown>> {
  status: number;
  body: T & { error_code?: string; message?: string };
}

export async function mlflow<T = Record<string, unknown>>(
  baseUrl: string,
  endpoint: string,
  body?: unknown,
  options: {
    method?: string;
    headers?: Record<string, string>;
    query?: Record<string, string | string[]>;
  } = {},
): Promise<MlflowAnswer<T>> {
  const url = new URL(`/api/2.0/mlflow/${endpoint}`, baseUrl);
  for (const [key, value] of Object.entries(options.query ?? {}))
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
  const method = options.method ?? (body === undefined ? "GET" : "POST");
  const response = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed as MlflowAnswer<T>["body"] };
}

/** The answer's body, after checking it is a 200. */
export async function ok<T = Record<string, unknown>>(answer: Promise<MlflowAnswer<T>>): Promise<T> {
  const { status, body } = await answer;
  if (status !== 200) throw new Error(`MLflow API answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

export interface SeedRun {
  name: string;
  start: number;
  status: string;
  params: Record<string, string>;
  metrics: Record<string, [number, number | string][]>;
  tags: Record<string, string>;
}

/** Logs `runs` to a new experiment as the filter-case generator logged them to MLflow's server. */
export async function logSeedRuns(baseUrl: string, experimentName: string, runs: SeedRun[]) {
  const { experiment_id } = await ok<{ experiment_id: string }>(
    mlflow(baseUrl, "experiments/create", { name: experimentName }),
  );
  const base = Date.now() - 100_000;
  const ids: Record<string, string> = {};
  for (const run of runs) {
    const created = await ok<{ run: { info: { run_id: string } } }>(
      mlflow(baseUrl, "runs/create", {
        experiment_id,
        run_name: run.name,
        start_time: base + run.start * 1000,
      }),
    );
    const runId = created.run.info.run_id;
    ids[run.name] = runId;
    await ok(
      mlflow(baseUrl, "runs/log-batch", {
        run_id: runId,
        metrics: Object.entries(run.metrics).flatMap(([key, points]) =>
          points.map(([step, value]) => ({ key, value, step, timestamp: base })),
        ),
        params: Object.entries(run.params).map(([key, value]) => ({ key, value })),
        tags: Object.entries(run.tags).map(([key, value]) => ({ key, value })),
      }),
    );
    if (run.status !== "RUNNING") {
      const terminal = ["FINISHED", "FAILED", "KILLED"].includes(run.status);
      await ok(
        mlflow(baseUrl, "runs/update", {
          run_id: runId,
          status: run.status,
          ...(terminal ? { end_time: base + run.start * 1000 + 500 } : {}),
        }),
      );
    }
  }
  return { experimentId: experiment_id, ids };
}
