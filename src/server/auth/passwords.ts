// Password hashes: scrypt (Node's own, memory-hard), with the cost stored in each hash so it
// can be raised later without breaking old ones. Format: scrypt$N$r$p$salt$key (base64url).
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import pLimit from "p-limit";
import { MAX_PASSWORD_LENGTH } from "@/shared/auth";

/** OWASP's current guidance: N = 2^17 (128 MiB per hash), r = 8, p = 1. */
const COST = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;
/** Hashes at once: each takes 128 MiB and a libuv thread (of 4) for a fraction of a second. */
const hashing = pLimit(2);
const MAX_WAITING = 64;

/** Too many sign-ins already wait for a hash: refuse this one rather than queue it. */
export function hashingIsBusy(): boolean {
  return hashing.pendingCount >= MAX_WAITING;
}

function derive(password: string, salt: Buffer, cost: typeof COST): Promise<Buffer> {
  return hashing(() => deriveNow(password, salt, cost));
}

function deriveNow(password: string, salt: Buffer, cost: typeof COST): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize("NFKC"),
      salt,
      KEY_BYTES,
      { ...cost, maxmem: 256 * cost.N * cost.r },
      (e, key) => (e ? reject(e) : resolve(key)),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ["scrypt", COST.N, COST.r, COST.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !key || password.length > MAX_PASSWORD_LENGTH) return false;
  const expected = Buffer.from(key, "base64url");
  const actual = await derive(password, Buffer.from(salt, "base64url"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash made at a lower cost than today's: rehashed at the user's next sign-in. */
export function needsRehash(stored: string): boolean {
  const [scheme, n, r, p] = stored.split("$");
  return scheme !== "scrypt" || Number(n) < COST.N || Number(r) < COST.r || Number(p) < COST.p;
}

/** A hash of a random password: compared against when the user does not exist, so that the
 *  answer takes as long for an unknown name as for a wrong password. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString("hex"));
  return decoy;
}
