import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "@/server/api/root";
import { createContext } from "@/server/api/trpc";
import { getDb } from "@/server/db/client";
import { BodyTooLargeError, readBodyCapped } from "@/server/http/route-helpers";
import { MAX_BATCH_SIZE } from "@/shared/api";

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

async function handler(req: Request) {
  const started = performance.now();
  let request = req;
  if (req.method === "POST") {
    let body: Buffer;
    try {
      body = await readBodyCapped(req, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return tooLarge();
      throw error;
    }
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
    maxBatchSize: MAX_BATCH_SIZE,
  });
}

export { handler as GET, handler as POST };
