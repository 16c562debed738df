// The API believes a client address only when Labbook's own server stamped it, and counts a
// loopback connection as local only when no proxy or forwarder relayed it.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddress, remoteAddressOf, stampRemoteAddress } from "@/server/http/remote-address";

const incoming = (
  peer: string,
  headers: Record<string, string> = {},
  { port = 3000, version = "1.1" }: { port?: number; version?: string } = {},
) =>
  ({
    headers: { host: `127.0.0.1:${port}`, ...headers },
    httpVersionMajor: Number(version.split(".")[0]),
    httpVersionMinor: Number(version.split(".")[1]),
    socket: { remoteAddress: peer, localPort: port },
  }) as unknown as IncomingMessage;

describe("client addresses", () => {
  it("ignores a header the client sent itself (a server that did not stamp the request)", () => {
    expect(remoteAddressOf(new Headers({ "x-labbook-remote-address": "127.0.0.1" }))).toBeNull();
    const req = incoming("203.0.113.5");
    stampRemoteAddress(req, "203.0.113.5");
    expect(remoteAddressOf(new Headers(req.headers as Record<string, string>))).toBe("203.0.113.5");
  });

  it("trusts X-Forwarded-For only from the proxy, and only its rightmost hop", () => {
    const xff = (value: string) => ({ "x-forwarded-for": value });
    expect(clientAddress(incoming("127.0.0.1", xff("127.0.0.1, 198.51.100.2")), true)).toBe("198.51.100.2");
    expect(clientAddress(incoming("198.51.100.7", xff("127.0.0.1")), true)).toBe("198.51.100.7");
    expect(clientAddress(incoming("10.0.0.5", xff("127.0.0.1, 198.51.100.2")), true, ["10.0.0.5"])).toBe(
      "198.51.100.2",
    );
  });

  it("counts a direct loopback client as local, on any loopback name", () => {
    for (const host of ["127.0.0.1:3000", "localhost:3000", "[::1]:3000", "LOCALHOST:3000"])
      for (const trust of [false, true])
        expect(clientAddress(incoming("127.0.0.1", { host }), trust)).toBe("127.0.0.1");
    expect(clientAddress(incoming("::1", { host: "localhost" }, { port: 80 }), false)).toBe("::1");
  });

  it("counts a loopback connection relayed by a proxy or forwarder as remote (found by reading the code)", () => {
    const relayed = [
      // socat or ssh -L: the browser's own Host names the forwarder's host or port.
      incoming("127.0.0.1", { host: "labbook.example.org:8080" }),
      incoming("127.0.0.1", { host: "127.0.0.1:8080" }),
      incoming("127.0.0.1", { host: "192.0.2.10:3000" }),
      // nginx's defaults: Host 127.0.0.1:3000 over HTTP/1.0, no X-Forwarded-For.
      incoming("127.0.0.1", {}, { version: "1.0" }),
      // Proxies that name the client in a header Labbook was not told to trust.
      incoming("127.0.0.1", { "x-forwarded-for": "198.51.100.2" }),
      incoming("127.0.0.1", { "x-real-ip": "198.51.100.2" }),
      incoming("127.0.0.1", { forwarded: "for=198.51.100.2" }),
      incoming("127.0.0.1", { via: "1.1 caddy" }),
      incoming("127.0.0.1", { host: "" }),
    ];
    for (const req of relayed) {
      expect(clientAddress(req, false)).toBe("unknown");
      expect(clientAddress(req, true)).not.toBe("127.0.0.1");
    }
    // Trusted, but the proxy named no client: remote too.
    expect(clientAddress(incoming("127.0.0.1", { via: "1.1 caddy" }), true)).toBe("unknown");
    expect(clientAddress(incoming("127.0.0.1", { "x-forwarded-for": " " }), true)).toBe("unknown");
  });
});
