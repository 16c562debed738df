// Labbook's HTTP server puts the client's real address in this header, replacing any value
// the client sent, so the API can tell local requests from remote ones.
import type { IncomingMessage } from "node:http";

export const REMOTE_ADDRESS_HEADER = "x-labbook-remote-address";

export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers["x-forwarded-for"];
  if (trustProxy && typeof forwarded === "string" && forwarded.trim()) {
    return forwarded.split(",")[0]?.trim() ?? "";
  }
  return req.socket.remoteAddress ?? "";
}
