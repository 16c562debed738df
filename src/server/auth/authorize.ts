// The write rule, for tRPC procedures and plain routes alike: a client that is not on this
// machine needs a token of sufficient scope; a token that is sent is always checked.
import type { ApiToken, TokenScope } from "@/generated/prisma/client";
import type { Db } from "@/server/db/client";
import { findApiToken, isLoopback, SCOPE_RANK } from "./tokens";

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

/** The acting token (null for a local client without one); throws AuthError otherwise. */
export async function authorize(
  db: Db,
  request: { remoteAddress: string | null; bearerToken: string | null },
  scope: TokenScope,
): Promise<ApiToken | null> {
  const token = request.bearerToken ? await findApiToken(db, request.bearerToken) : null;
  if (request.bearerToken && !token) throw new AuthError(401, "the API token is invalid or revoked");
  if (!token && !isLoopback(request.remoteAddress)) {
    throw new AuthError(
      401,
      `writes from ${request.remoteAddress ?? "a remote client"} need an API token: send "Authorization: Bearer <token>" (create one with npm run token -- create)`,
    );
  }
  if (token && SCOPE_RANK[token.scope] < SCOPE_RANK[scope]) {
    throw new AuthError(403, `the token "${token.name}" has scope ${token.scope}; this needs ${scope}`);
  }
  return token;
}

export function bearerToken(headers: Headers): string | null {
  return headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? null;
}
