// Labbook's HTTP server puts the client's real address in a header, replacing any value the
// client sent, so the API can tell local requests from remote ones. A second header carries a
// secret made at start: a request that did not come through that server (`next start` run
// directly, say) has no address the API will believe, so it counts as remote.
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isLoopback } from "@/server/auth/tokens";

export const REMOTE_ADDRESS_HEADER = "x-labbook-remote-address";
const SECRET_HEADER = "x-labbook-server-secret";

/** Shared by the HTTP server and the Next.js route code in the same process. */
const store = globalThis as unknown as { labbookRequestSecret?: string };

function serverSecret(): string {
  store.labbookRequestSecret ??= randomBytes(24).toString("hex");
  return store.labbookRequestSecret;
}

/** Where a loopback connection that came through a proxy or forwarder has no address of its own. */
export const UNKNOWN_CLIENT = "unknown";

/** Headers that only a proxy adds. */
const PROXY_HEADERS = [
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "via",
];

/**
 * A loopback connection is a client on this machine only when nothing in it says otherwise:
 * a forwarder (socat, ssh -L) keeps the client's own Host, naming another host or port; a proxy
 * adds its headers, and nginx by default speaks HTTP/1.0, which no browser or worker does.
 */
function isDirect(req: IncomingMessage): boolean {
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return false;
  if (PROXY_HEADERS.some((name) => req.headers[name] !== undefined)) return false;
  let host: URL;
  try {
    host = new URL(`http://${req.headers.host ?? ""}`);
  } catch {
    return false;
  }
  const port = Number(host.port || 80);
  const loopbackName = isLoopback(host.hostname.replace(/^\[|\]$/g, "")) || host.hostname === "localhost";
  return loopbackName && port === req.socket.localPort;
}

/**
 * The client's address. Behind a proxy (trustProxy), and only for connections from the proxy
 * (loopback, or one of `proxies`), it is the rightmost X-Forwarded-For hop: the one the proxy
 * itself appended. Anything left of it was sent by the client and proves nothing. A loopback
 * connection that a proxy or forwarder relayed without naming its client is UNKNOWN_CLIENT:
 * remote, never local.
 */
export function clientAddress(
  req: IncomingMessage,
  trustProxy: boolean,
  proxies: readonly string[] = [],
): string {
  const peer = req.socket.remoteAddress ?? "";
  const forwarded = req.headers["x-forwarded-for"];
  const fromProxy = isLoopback(peer) || proxies.includes(peer.replace(/^::ffff:/, ""));
  if (trustProxy && fromProxy && typeof forwarded === "string" && forwarded.trim()) {
    return forwarded.split(",").at(-1)?.trim() || UNKNOWN_CLIENT;
  }
  if (isLoopback(peer) && !isDirect(req)) return UNKNOWN_CLIENT;
  return peer;
}

/** Stamps a request with its client's address, overwriting whatever the client sent. */
export function stampRemoteAddress(req: IncomingMessage, address: string): void {
  req.headers[REMOTE_ADDRESS_HEADER] = address;
  req.headers[SECRET_HEADER] = serverSecret();
}

/** The address Labbook's server stamped on the request, or null when it did not stamp it. */
export function remoteAddressOf(headers: Headers): string | null {
  const secret = store.labbookRequestSecret;
  if (!secret || headers.get(SECRET_HEADER) !== secret) return null;
  return headers.get(REMOTE_ADDRESS_HEADER);
}
