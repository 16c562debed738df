import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/api/root";
import { createContext } from "@/server/api/trpc";
import { getDb } from "@/server/db/client";

export const dynamic = "force-dynamic";

/** Larger than any valid call (10,000 metric points are under 1 MB); refused before parsing. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function tooLarge(): Response {
  const message = `request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB; send fewer points per request`;
  return Response.json(
    { error: { message, code: -32013, data: { code: "PAYLOAD_TOO_LARGE", httpStatus: 413 } } },
    { status: 413 },
  );
}

/** The body, read up to the limit (also when no content-length was sent); null past it. */
async function readLimited(req: Request): Promise<Buffer | null> {
  if (Number(req.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function handler(req: Request) {
  const started = performance.now();
  let request = req;
  if (req.method === "POST") {
    const body = await readLimited(req);
    if (!body) return tooLarge();
    request = new Request(req.url, { method: "POST", headers: req.headers, body: new Uint8Array(body) });
  }
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createContext(getDb(), request.headers),
    // The time this server spent on the call(s), for browser dev tools and bench-dashboard.
    responseMeta: () => ({
      headers: new Headers({ "server-timing": `app;dur=${(performance.now() - started).toFixed(1)}` }),
    }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR")
        console.error(`tRPC ${path ?? "?"} failed:`, error.cause ?? error);
    },
  });
}

export { handler as GET, handler as POST };
