// Online password guessing, slowed without handing anyone a lockout. Every try is charged
// before the password is hashed (so parallel requests cannot slip past the count), to buckets
// kept in the database (so `npm run user -- unlock` can clear them):
// - a name from one client: a few free tries, then each failure doubles the wait, up to 15 min;
// - a name from clients it never signed in from, and one address trying names it never
//   signed in as: larger budgets that stop guessing spread over many addresses or names.
// A client the user signed in from before (its address, or a browser's device cookie) skips
// the second kind: guesses from elsewhere never hold the real user back.
import { createHash } from "node:crypto";
import type { Db } from "@/server/db/client";

const MAX_WAIT_S = 15 * 60;
const FORGET_FAILURES = "1 day";
const FORGET_CLIENTS = "90 days";
const ANY = "*";
/** Free tries per bucket before waits begin. */
const FREE = { client: 5, name: 20, address: 20 } as const;

type Bucket = { name: string; address: string; free: number };

/** A device cookie's row in KnownSignIn: its hash, never the cookie itself. */
export function deviceClient(token: string): string {
  return `device:${createHash("sha256").update(token).digest("base64url")}`;
}

/** Addresses come from headers a proxy wrote; the columns hold 64 characters. */
const column = (text: string) => text.slice(0, 64);

/** Which of these clients the user has signed in from lately. */
async function knownClients(db: Db, name: string, clients: string[]): Promise<Set<string>> {
  const rows = await db.$queryRaw<{ client: string }[]>`
    SELECT k.client FROM "KnownSignIn" k JOIN "User" u ON u.id = k."userId"
    WHERE u.name = ${name} AND k.client = ANY(${clients.map(column)})
      AND k."lastAt" > now() - ${FORGET_CLIENTS}::interval`;
  return new Set(rows.map((r) => r.client));
}

/**
 * Charges a try to the bucket; null when it may go ahead, else the seconds it must wait. One
 * statement, so concurrent tries from any number of processes are counted one by one.
 */
async function charge(db: Db, bucket: Bucket): Promise<number | null> {
  const rows = await db.$queryRaw<{ failures: number }[]>`
    INSERT INTO "SignInThrottle" AS t (name, address, failures, "lastFailureAt", "nextAttemptAt")
    VALUES (${bucket.name}, ${bucket.address}, 1, now(), now())
    ON CONFLICT (name, address) DO UPDATE SET (failures, "lastFailureAt", "nextAttemptAt") = (
      SELECT n, now(), now() + make_interval(secs => CASE WHEN n > ${bucket.free}
        THEN least(power(2, n - ${bucket.free}), ${MAX_WAIT_S}) ELSE 0 END)
      FROM (SELECT CASE WHEN t."lastFailureAt" < now() - ${FORGET_FAILURES}::interval
                        THEN 1 ELSE t.failures + 1 END AS n) counted)
    WHERE t."nextAttemptAt" <= now()
    RETURNING t.failures`;
  if (rows.length) return null;
  const [waiting] = await db.$queryRaw<{ seconds: number }[]>`
    SELECT ceil(extract(epoch FROM "nextAttemptAt" - now()))::int AS seconds FROM "SignInThrottle"
    WHERE name = ${bucket.name} AND address = ${bucket.address}`;
  return Math.max(1, waiting?.seconds ?? 1);
}

export interface SignInAttempt {
  name: string;
  address: string;
  /** The browser's device cookie, if it sent one. */
  device: string | null;
}

/**
 * Charges a sign-in try before its password is checked. Returns the buckets it charged (to
 * settle once the answer is known), or the seconds the caller must wait.
 */
export async function chargeSignIn(
  db: Db,
  attempt: SignInAttempt,
): Promise<{ charged: Bucket[] } | { waitS: number }> {
  const name = column(attempt.name);
  const address = column(attempt.address);
  const device = attempt.device ? deviceClient(attempt.device) : null;
  const known = await knownClients(db, name, device ? [address, device] : [address]);
  const buckets: Bucket[] =
    device && known.has(device)
      ? [{ name, address: device, free: FREE.client }]
      : known.has(address)
        ? [{ name, address, free: FREE.client }]
        : [
            { name, address, free: FREE.client },
            { name, address: ANY, free: FREE.name },
            { name: ANY, address, free: FREE.address },
          ];
  for (const [i, bucket] of buckets.entries()) {
    const waitS = await charge(db, bucket);
    if (waitS !== null) return { waitS };
    if (i === 0) pruneNowAndThen(db);
  }
  return { charged: buckets };
}

/** After a correct password: the client's own bucket starts over, the shared ones get their try back. */
export async function settleSuccess(db: Db, charged: Bucket[], userId: number, clients: string[]) {
  const [own, ...shared] = charged;
  if (own) await db.signInThrottle.deleteMany({ where: { name: own.name, address: own.address } });
  for (const bucket of shared)
    await db.$executeRaw`UPDATE "SignInThrottle" SET failures = greatest(failures - 1, 0)
      WHERE name = ${bucket.name} AND address = ${bucket.address}`;
  for (const client of clients.map(column))
    await db.knownSignIn.upsert({
      where: { userId_client: { userId, client } },
      create: { userId, client, lastAt: new Date() },
      update: { lastAt: new Date() },
    });
}

/** `npm run user -- unlock NAME`: clears every wait on the name. Returns the buckets cleared. */
export async function unlockName(db: Db, name: string): Promise<number> {
  const { count } = await db.signInThrottle.deleteMany({ where: { name: column(name) } });
  return count;
}

let lastPrune = 0;
/** Buckets of names nobody tries any more are dropped, at most every ten minutes. */
function pruneNowAndThen(db: Db): void {
  if (Date.now() - lastPrune < 10 * 60_000) return;
  lastPrune = Date.now();
  db.$executeRaw`DELETE FROM "SignInThrottle"
    WHERE "lastFailureAt" < now() - ${FORGET_FAILURES}::interval AND "nextAttemptAt" < now()`.catch(
    (error: unknown) => console.error("could not prune sign-in throttles:", error),
  );
}
