// Labbook's HTTP server: Next.js (dashboard and API routes) behind a plain Node server that
// records each client's real address for the API's token rule.
import { createServer, type Server } from "node:http";
import next from "next";
import { PROJECT_ROOT } from "@/server/db/migrate";
import { clientAddress, stampRemoteAddress } from "./remote-address";
import { allowedHosts, refusal } from "./request-guard";

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

export async function startHttpServer(options: HttpServerOptions): Promise<Server> {
  const app = next({ dev: options.dev, dir: PROJECT_ROOT, hostname: options.host, port: options.port });
  const handle = app.getRequestHandler();
  await app.prepare();
  const hosts = allowedHosts(options.host, options.allowedHosts);
  const server = createServer((req, res) => {
    const refused = refusal(req, hosts);
    if (refused) {
      res.writeHead(refused.status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: refused.message } }));
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
