// Labbook's HTTP server: Next.js (dashboard and API routes) behind a plain Node server that
// records each client's real address for the API's token rule.
import { createServer, type IncomingMessage, type Server } from "node:http";
import next from "next";
import { requireLogin } from "@/server/config";
import { createDb } from "@/server/db/client";
import { PROJECT_ROOT } from "@/server/db/migrate";
import { resumeSetEvaluations } from "@/server/evaluation-sets/score-set";
import { handleMlflow, isMlflowPath } from "@/server/mlflow/http";
import { PredictThread } from "@/server/predict/predict-thread-host";
import { installPredictor } from "@/server/predict/predictor";
import { SESSION_COOKIE } from "@/shared/auth";
import { clientAddress, stampRemoteAddress } from "./remote-address";
import { allowedHosts, refusal } from "./request-guard";
import { applySecurityHeaders, securityHeaders } from "./security-headers";

export interface HttpServerOptions {
  host: string;
  port: number;
  dev: boolean;
  /** Take the client address from X-Forwarded-For (behind a reverse proxy you run). */
  trustProxy: boolean;
  /** Addresses of that proxy, besides loopback. */
  trustedProxies?: string[];
  /** Host names to answer to besides loopback and `host`. */
  allowedHosts?: string[];
}

/**
 * With LABBOOK_REQUIRE_LOGIN=1, a page asked for without a session cookie goes to the sign-in
 * page first (the API itself refuses such requests; this only saves an empty page).
 */
function signInRedirect(req: IncomingMessage): string | null {
  const url = req.url ?? "/";
  if (!requireLogin() || req.method !== "GET" || /^\/(api|_next|signin|favicon)/.test(url)) return null;
  if (new RegExp(`(^|;\\s*)${SESSION_COOKIE}=`).test(req.headers.cookie ?? "")) return null;
  return `/signin?next=${encodeURIComponent(url)}`;
}

export async function startHttpServer(options: HttpServerOptions): Promise<Server> {
  const app = next({ dev: options.dev, dir: PROJECT_ROOT, hostname: options.host, port: options.port });
  const handle = app.getRequestHandler();
  await app.prepare();
  installPredictor(new PredictThread());
  // Scorings of evaluation sets that a restart interrupted are queued again. A client of its
  // own: Next.js's bundle has its own copy of the database module, and getDb's client must be
  // made by that copy.
  const url = process.env.DATABASE_URL;
  // MLflow's API runs in this module graph, not Next.js's: it needs a client of its own too.
  const mlflowDb = url ? createDb(url) : null;
  if (url)
    resumeSetEvaluations(createDb(url)).catch((error: unknown) =>
      console.error("could not resume the evaluation-set jobs:", error),
    );
  const hosts = allowedHosts(options.host, options.allowedHosts);
  const headers = securityHeaders(options.dev);
  const server = createServer((req, res) => {
    applySecurityHeaders(res, headers);
    const refused = refusal(req, hosts);
    if (refused) {
      res.writeHead(refused.status, { "content-type": "application/json", ...refused.headers });
      res.end(JSON.stringify({ error: { message: refused.message } }));
      return;
    }
    // MLflow's API is served here, ahead of Next.js: clients call it once per training step.
    if (mlflowDb && isMlflowPath(req.url ?? "/")) {
      stampRemoteAddress(req, clientAddress(req, options.trustProxy, options.trustedProxies));
      void handleMlflow(mlflowDb, req, res);
      return;
    }
    const signIn = signInRedirect(req);
    if (signIn) {
      res.writeHead(303, { location: signIn, "cache-control": "no-store" }).end();
      return;
    }
    stampRemoteAddress(req, clientAddress(req, options.trustProxy, options.trustedProxies));
    handle(req, res).catch((error: unknown) => {
      console.error("request failed:", error);
      if (!res.headersSent) res.writeHead(500).end("Internal Server Error");
    });
  });
  // Outlive clients' idle keep-alive sockets (workers upload between long epochs), so a
  // client never reuses a socket the server has just closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  return server;
}
