// Calls the tRPC API over plain HTTP, as curl or an external client would.

export interface HttpResult<T = unknown> {
  status: number;
  body: {
    result?: { data: T };
    error?: { message: string; data: { code: string; issues: { path: string[]; message: string }[] | null } };
  };
}

export async function callProcedure<T = unknown>(
  baseUrl: string,
  procedure: string,
  input: unknown,
  options: { kind?: "query" | "mutation"; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const kind = options.kind ?? "mutation";
  const url = new URL(`/api/trpc/${procedure}`, baseUrl);
  if (kind === "query") url.searchParams.set("input", JSON.stringify(input));
  const response = await fetch(url, {
    method: kind === "query" ? "GET" : "POST",
    headers: { "content-type": "application/json", ...options.headers },
    body: kind === "mutation" ? JSON.stringify(input) : undefined,
  });
  return { status: response.status, body: (await response.json()) as HttpResult<T>["body"] };
}
