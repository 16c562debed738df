// Refuses requests a browser could be tricked into sending: to a Host name Labbook does not
// serve (DNS rebinding: evil.example resolving to 127.0.0.1), and writes from another site
// (a page posting a form to http://127.0.0.1:3000). The API's token rule cannot see either.
import type { IncomingMessage } from "node:http";
import os from "node:os";

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/** Host names Labbook answers to: loopback, the address it listens on, and `extra`. */
export function allowedHosts(listenHost: string, extra: readonly string[] = []): Set<string> {
  const hosts = new Set(["localhost", "127.0.0.1", "::1", listenHost, ...extra].map((h) => bare(h)));
  if (WILDCARDS.has(listenHost)) {
    hosts.add(os.hostname().toLowerCase());
    for (const addresses of Object.values(os.networkInterfaces()))
      for (const a of addresses ?? []) hosts.add(a.address.toLowerCase());
  }
  return hosts;
}

/** "Example.org:3000" → "example.org"; "[::1]:3000" → "::1". */
function bare(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith("[")) return lower.slice(1, lower.indexOf("]"));
  return lower.split(":").length === 2 ? (lower.split(":")[0] as string) : lower;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Writes that take JSON only, so a cross-site form post never reaches them. */
const JSON_ONLY = ["/api/trpc/", "/api/auth/signin"];

/** Why `req` is refused (status and message), or null to serve it. */
export function refusal(
  req: IncomingMessage,
  hosts: ReadonlySet<string>,
): { status: number; message: string; headers?: Record<string, string> } | null {
  const host = req.headers.host ?? "";
  if (!hosts.has(bare(host)))
    return {
      status: 421,
      message: `Labbook does not serve the host name "${host}"; add it to LABBOOK_ALLOWED_HOSTS`,
    };
  // Next.js decodes the path and answers a broken escape ("%", "%E0%A4%A") with a 500.
  try {
    decodeURIComponent((req.url ?? "/").split("?")[0] as string);
  } catch {
    return { status: 400, message: "the URL's path has a malformed percent-escape" };
  }
  if (SAFE_METHODS.has(req.method ?? "GET")) return null;
  // Pages take only reads. Labbook has no Server Actions: a POST to a page would only make
  // Next.js log "Failed to find Server Action" with a stack.
  if (!/^\/(api|ajax-api)\//.test(req.url ?? "/"))
    return {
      status: 405,
      message: `${req.method} is not allowed here: pages take GET and HEAD only`,
      headers: { allow: "GET, HEAD" },
    };
  const site = req.headers["sec-fetch-site"];
  if (site && site !== "same-origin" && site !== "none")
    return { status: 403, message: `cross-site writes are refused (Sec-Fetch-Site: ${site})` };
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin).host;
    } catch {}
    if (originHost?.toLowerCase() !== host.toLowerCase())
      return { status: 403, message: `cross-site writes are refused (Origin: ${origin})` };
  }
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (JSON_ONLY.some((prefix) => req.url?.startsWith(prefix)) && type !== "application/json")
    return { status: 415, message: "API calls must send Content-Type: application/json" };
  return null;
}
