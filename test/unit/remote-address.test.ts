// The API believes a client address only when Labbook's own server stamped it.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddress, remoteAddressOf, stampRemoteAddress } from "@/server/http/remote-address";

const incoming = (peer: string, forwarded?: string) =>
  ({
    headers: forwarded ? { "x-forwarded-for": forwarded } : {},
    socket: { remoteAddress: peer },
  }) as unknown as IncomingMessage;

describe("client addresses", () => {
  it("ignores a header the client sent itself (a server that did not stamp the request)", () => {
    expect(remoteAddressOf(new Headers({ "x-labbook-remote-address": "127.0.0.1" }))).toBeNull();
    const req = incoming("203.0.113.5");
    stampRemoteAddress(req, "203.0.113.5");
    expect(remoteAddressOf(new Headers(req.headers as Record<string, string>))).toBe("203.0.113.5");
  });

  it("trusts X-Forwarded-For only from the proxy, and only its rightmost hop", () => {
    expect(clientAddress(incoming("127.0.0.1", "127.0.0.1, 198.51.100.2"), true)).toBe("198.51.100.2");
    expect(clientAddress(incoming("198.51.100.7", "127.0.0.1"), true)).toBe("198.51.100.7");
    expect(clientAddress(incoming("10.0.0.5", "127.0.0.1, 198.51.100.2"), true, ["10.0.0.5"])).toBe(
      "198.51.100.2",
    );
    expect(clientAddress(incoming("127.0.0.1", "198.51.100.2"), false)).toBe("127.0.0.1");
  });
});
