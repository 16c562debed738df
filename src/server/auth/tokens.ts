// API tokens: random secrets shown once, stored as sha256 hashes.
import { createHash, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import type { ApiToken, TokenScope } from "@/generated/prisma/client";
import type { Db } from "@/server/db/client";

const TOKEN_PREFIX = "lbk_";
/** How stale lastUsedAt may get before a request refreshes it (saves a write per request). */
const LAST_USED_RESOLUTION_MS = 60_000;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function createApiToken(
  db: Db,
  input: { name: string; scope: TokenScope },
): Promise<{ token: string; record: ApiToken }> {
  const token = `${TOKEN_PREFIX}${randomBytes(24).toString("base64url")}`;
  const record = await db.apiToken.create({
    data: { name: input.name, scope: input.scope, tokenHash: hashToken(token), prefix: token.slice(0, 10) },
  });
  return { token, record };
}

/** The live (unrevoked) token for this secret, or null. */
export async function findApiToken(db: Db, token: string): Promise<ApiToken | null> {
  const record = await db.apiToken.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!record || record.revokedAt) return null;
  if (!record.lastUsedAt || Date.now() - record.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.apiToken.update({ where: { id: record.id }, data: { lastUsedAt: new Date() } });
  }
  return record;
}

export function isLoopback(address: string | null | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith("127.");
  return plain === "::1";
}

export const SCOPE_RANK: Record<TokenScope, number> = { read: 0, write: 1, admin: 2 };
