// A small client for Labbook's HTTP API (tRPC procedures as plain JSON, plus artifact
// uploads), for workers and external trainers. It needs only the server URL and a token.
import { createHash } from "node:crypto";
import type { z } from "zod";
import { ARTIFACT_KIND_HEADER, ARTIFACT_SHA256_HEADER } from "../../shared/artifacts";
import { evaluationSetCreatedSchema } from "../../shared/evaluation-sets";
import type { MetricPointInput } from "../../shared/metrics";
import { describeIssue } from "../../shared/zod-issues";

/** The server answered and refused (4xx): retrying the same request cannot help. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Network failures and 5xx answers: the request may succeed later. */
export const isRetryable = (error: unknown) => !(error instanceof ApiError);

/** A tRPC answer's data. */
const trpcData = (body: unknown) => (body as { result?: { data?: unknown } }).result?.data;

/** An answer, checked against `reply` when one is given. */
function checkedReply(what: string, data: unknown, reply?: z.ZodType): unknown {
  if (!reply) return data;
  const checked = reply.safeParse(data);
  if (!checked.success)
    throw new ApiError(
      502,
      `the server's answer to ${what} is malformed: ${describeIssue(checked.error.issues[0] as z.core.$ZodIssue)}`,
    );
  return checked.data;
}

export class LabbookClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  private async send(url: URL, init: RequestInit): Promise<Response> {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    if (response.status >= 400) {
      const text = await response.text();
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {}
      if (response.status >= 500) throw new Error(`HTTP ${response.status}: ${message}`);
      throw new ApiError(response.status, message);
    }
    return response;
  }

  /** Calls a procedure; with `reply`, its answer is checked against that shared schema. */
  async mutation<S extends z.ZodType>(procedure: string, input: unknown, reply: S): Promise<z.output<S>>;
  async mutation<T>(procedure: string, input: unknown): Promise<T>;
  async mutation(procedure: string, input: unknown, reply?: z.ZodType): Promise<unknown> {
    const response = await this.send(new URL(`/api/trpc/${procedure}`, this.baseUrl), {
      method: "POST",
      headers: this.headers({ "content-type": "application/json" }),
      body: JSON.stringify(input),
    });
    return checkedReply(procedure, trpcData(await response.json()), reply);
  }

  /** Reads a procedure; with `reply`, its answer is checked against that shared schema. */
  async query<S extends z.ZodType>(procedure: string, input: unknown, reply: S): Promise<z.output<S>>;
  async query<T>(procedure: string, input: unknown): Promise<T>;
  async query(procedure: string, input: unknown, reply?: z.ZodType): Promise<unknown> {
    const url = new URL(`/api/trpc/${procedure}`, this.baseUrl);
    url.searchParams.set("input", JSON.stringify(input));
    const response = await this.send(url, { headers: this.headers() });
    return checkedReply(procedure, trpcData(await response.json()), reply);
  }

  /** Logs a batch of metric points (idempotent per run, key and step). */
  logMetrics(runId: number, points: MetricPointInput[]): Promise<{ stored: number }> {
    return this.mutation("metric.log", { runId, points });
  }

  async upload(
    runId: number,
    name: string,
    kind: string,
    bytes: Buffer,
    contentType = "application/octet-stream",
  ): Promise<void> {
    await this.send(new URL(`/api/runs/${runId}/artifacts/${encodeURIComponent(name)}`, this.baseUrl), {
      method: "PUT",
      headers: this.headers({
        "content-type": contentType,
        [ARTIFACT_KIND_HEADER]: kind,
        [ARTIFACT_SHA256_HEADER]: createHash("sha256").update(bytes).digest("hex"),
      }),
      body: new Uint8Array(bytes),
    });
  }

  /** Uploads a zip of labelled images as an evaluation set (or finds the set that holds it). */
  async uploadEvaluationSet(
    params: { name: string; model: string; description?: string; synonyms?: Record<string, string> },
    zip: Uint8Array,
  ): Promise<{ id: number; name: string; existing: boolean }> {
    const url = new URL("/api/evaluation-sets", this.baseUrl);
    url.searchParams.set("name", params.name);
    url.searchParams.set("model", params.model);
    if (params.description) url.searchParams.set("description", params.description);
    if (params.synonyms) url.searchParams.set("synonyms", JSON.stringify(params.synonyms));
    const response = await this.send(url, {
      method: "POST",
      headers: this.headers({ "content-type": "application/zip" }),
      body: new Uint8Array(zip),
    });
    return checkedReply(
      "POST /api/evaluation-sets",
      await response.json(),
      evaluationSetCreatedSchema,
    ) as z.output<typeof evaluationSetCreatedSchema>;
  }

  /** The artifact's bytes, checked against the sha256 the server sends; null when absent. */
  async download(runId: number, name: string): Promise<Buffer | null> {
    try {
      const response = await this.send(
        new URL(`/api/runs/${runId}/artifacts/${encodeURIComponent(name)}`, this.baseUrl),
        {
          headers: this.headers(),
        },
      );
      const bytes = Buffer.from(await response.arrayBuffer());
      const expected = response.headers.get(ARTIFACT_SHA256_HEADER);
      if (expected && createHash("sha256").update(bytes).digest("hex") !== expected) {
        throw new Error(`artifact ${name} of run ${runId} arrived corrupt (sha256 mismatch)`);
      }
      return bytes;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }
}
