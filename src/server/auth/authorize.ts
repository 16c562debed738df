// Who is asking, and what they may do: one rule for tRPC procedures and plain routes alike.
// A bearer token or a signed-in session carries its own scope. Without either, a client on this
// machine may read and write (not purge), one elsewhere may read, and with
// LABBOOK_REQUIRE_LOGIN=1 neither may do anything.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Role, TokenScope } from "@/generated/prisma/client";
import { requireLogin } from "@/server/config";
import type { Db } from "@/server/db/client";
import { remoteAddressOf } from "@/server/http/remote-address";
import { CSRF_HEADER, findSession, sessionCookieOf } from "./sessions";
import { checkSignIn } from "./sign-in";
import { findApiToken, isLoopback, SCOPE_RANK } from "./tokens";

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

export const ROLE_SCOPE: Record<Role, TokenScope> = { viewer: "read", editor: "write", admin: "admin" };

/** What a request carries, before anything is checked. */
export interface Credentials {
  remoteAddress: string | null;
  bearerToken: string | null;
  /** HTTP basic auth (MLflow's MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD). */
  basic: { name: string; password: string } | null;
  sessionToken: string | null;
  csrfToken: string | null;
}

export function credentialsOf(headers: Headers): Credentials {
  return {
    remoteAddress: remoteAddressOf(headers),
    bearerToken: bearerToken(headers),
    basic: basicCredentials(headers),
    sessionToken: sessionCookieOf(headers),
    csrfToken: headers.get(CSRF_HEADER),
  };
}

export interface Identity {
  kind: "token" | "session" | "local" | "anonymous";
  /** The most this request may do; null: nothing at all. */
  scope: TokenScope | null;
  /** Recorded with promotions and deletions: "user:alice", "token:ci", "local", "anonymous". */
  actor: string;
  user: { id: number; name: string; role: Role } | null;
  tokenId: number | null;
  csrfToken: string | null;
}

/** The identity behind the credentials; a token that is sent must be valid (else 401). */
export async function identify(db: Db, credentials: Credentials): Promise<Identity> {
  const none = { user: null, tokenId: null, csrfToken: null };
  if (credentials.bearerToken) {
    const token = await findApiToken(db, credentials.bearerToken);
    if (!token) throw new AuthError(401, "the API token is invalid or revoked");
    return { ...none, kind: "token", scope: token.scope, actor: `token:${token.name}`, tokenId: token.id };
  }
  if (credentials.basic) {
    const user = await basicUser(db, credentials.basic, credentials.remoteAddress ?? "");
    return {
      ...none,
      kind: "session",
      scope: ROLE_SCOPE[user.role],
      actor: `user:${user.name}`,
      user,
      // Basic auth is sent by programs, never by a browser on its own: no CSRF token to echo.
      csrfToken: null,
    };
  }
  const session = credentials.sessionToken ? await findSession(db, credentials.sessionToken) : null;
  if (session)
    return {
      ...none,
      kind: "session",
      scope: ROLE_SCOPE[session.user.role],
      actor: `user:${session.user.name}`,
      user: session.user,
      csrfToken: session.csrfToken,
    };
  if (requireLogin()) return { ...none, kind: "anonymous", scope: null, actor: "anonymous" };
  return isLoopback(credentials.remoteAddress)
    ? { ...none, kind: "local", scope: "write", actor: "local" }
    : { ...none, kind: "anonymous", scope: "read", actor: "anonymous" };
}

/**
 * Throws AuthError unless `identity` may act at `scope`. A write by a browser session must
 * echo the session's CSRF token (a cross-site page cannot read it).
 */
export function assertAllowed(
  identity: Identity,
  scope: TokenScope,
  write: { csrfToken: string | null } | null,
): void {
  if (identity.scope === null || SCOPE_RANK[identity.scope] < SCOPE_RANK[scope]) {
    if (identity.kind === "token")
      throw new AuthError(
        403,
        `the token "${identity.actor.slice(6)}" has scope ${identity.scope}; this needs ${scope}`,
      );
    if (identity.user)
      throw new AuthError(
        403,
        `${identity.user.name} is ${article(identity.user.role)}; this needs ${roleFor(scope)}`,
      );
    throw new AuthError(401, needsMessage(identity, scope));
  }
  if (
    identity.kind === "session" &&
    identity.csrfToken &&
    write &&
    !sameSecret(write.csrfToken, identity.csrfToken)
  )
    throw new AuthError(403, `the ${CSRF_HEADER} header is missing or stale; reload the page`);
}

/** identify + assertAllowed: the identity, or AuthError. */
export async function authorize(
  db: Db,
  credentials: Credentials,
  scope: TokenScope,
  options: { write: boolean },
): Promise<Identity> {
  const identity = await identify(db, credentials);
  assertAllowed(identity, scope, options.write ? { csrfToken: credentials.csrfToken } : null);
  return identity;
}

function needsMessage(identity: Identity, scope: TokenScope): string {
  const how = `sign in as ${article(roleFor(scope))}, or send "Authorization: Bearer <token>" with scope ${scope}`;
  if (identity.kind === "local") return `this needs ${roleFor(scope)} rights even on this machine: ${how}`;
  if (requireLogin()) return `this Labbook requires a sign-in: ${how}`;
  return `${scope === "read" ? "reading" : "writing"} from another machine needs a sign-in: ${how}`;
}

const roleFor = (scope: TokenScope): Role =>
  (Object.entries(ROLE_SCOPE).find(([, s]) => s === scope)?.[0] ?? "admin") as Role;
const article = (role: Role) => `${role === "admin" || role === "editor" ? "an" : "a"} ${role}`;

function sameSecret(sent: string | null, expected: string | null): boolean {
  if (!sent || !expected || sent.length > 256) return false;
  const [a, b] = [Buffer.from(sent), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearerToken(headers: Headers): string | null {
  return headers.get("authorization")?.match(/^Bearer\s+(\S{1,256})$/i)?.[1] ?? null;
}

function basicCredentials(headers: Headers): { name: string; password: string } | null {
  const encoded = headers.get("authorization")?.match(/^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i)?.[1];
  if (!encoded) return null;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon > 0 ? { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) } : null;
}

/**
 * Scrypt costs tens of milliseconds, and MLflow's client sends the password with every call:
 * a verified pair is remembered for a minute (by its hash, never in clear).
 */
const verifiedBasic = new Map<string, { user: NonNullable<Identity["user"]>; until: number }>();
const BASIC_CACHE_MS = 60_000;

async function basicUser(db: Db, basic: { name: string; password: string }, address: string) {
  const key = createHash("sha256").update(`${basic.name}\u0000${basic.password}`).digest("hex");
  const cached = verifiedBasic.get(key);
  if (cached && cached.until > Date.now()) return cached.user;
  const checked = await checkSignIn(db, basic.name.slice(0, 64), basic.password.slice(0, 1024), address);
  if ("status" in checked) throw new AuthError(401, checked.message);
  const user = { id: checked.user.id, name: checked.user.name, role: checked.user.role };
  if (verifiedBasic.size > 1000) verifiedBasic.clear();
  verifiedBasic.set(key, { user, until: Date.now() + BASIC_CACHE_MS });
  return user;
}
