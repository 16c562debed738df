import { describe, expect, it } from "vitest";
import { hashToken, isLoopback } from "@/server/auth/tokens";

describe("isLoopback", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["10.0.0.5", false],
    ["192.168.1.2", false],
    ["::ffff:203.0.113.7", false],
    ["2001:db8::1", false],
    ["", false],
    [null, false],
    ["localhost", false],
  ])("%s → %s", (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});

describe("hashToken", () => {
  it("is a stable sha256 that does not contain the token", () => {
    const hash = hashToken("lbk_secret");
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(hashToken("lbk_secret"));
    expect(hash).not.toBe(hashToken("lbk_secret2"));
  });
});
