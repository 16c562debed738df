// Browser sessions: a random secret in an HttpOnly cookie (stored as its sha256), and a CSRF
// token in a second cookie the dashboard's script reads and echoes in a header on writes.
import { randomBytes } from "node:crypto";
import { parseCookie, stringifySetCookie } from "cookie";
import type { Role } from "@/generated/prisma/client";
import type { Db } from "@/server/db/client";
import { CSRF_COOKIE, SESSION_COOKIE } from "@/shared/auth";
import { hashToken } from "./tokens";

export { CSRF_HEADER } from "@/shared/auth";

const SESSION_DAYS = 14;
/** How stale lastSeenAt may get before a request refreshes it (saves a write per request). */
const LAST_SEEN_RESOLUTION_MS = 60_000;

export interface SessionUser {
  sessionId: number;
  csrfToken: string;
  user: { id: number; name: string; role: Role };
}

export async function createSession(db: Db, userId: number) {
  const token = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(24).toString("base64url");
  const expiresAt = new Date(Date.now() + SESSION_DAYS * 86_400_000);
  await db.session.create({ data: { tokenHash: hashToken(token), csrfToken, userId, expiresAt } });
  return { token, csrfToken, expiresAt };
}

/** The live session for this cookie value: not expired, and its user not disabled. */
export async function findSession(db: Db, token: string): Promise<SessionUser | null> {
  const session = await db.session.findUnique({
    where: { tokenHash: hashToken(token) },
    include: { user: { select: { id: true, name: true, role: true, disabledAt: true } } },
  });
  if (!session || session.expiresAt.getTime() <= Date.now() || session.user.disabledAt) return null;
  if (Date.now() - session.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS)
    await db.session.update({ where: { id: session.id }, data: { lastSeenAt: new Date() } });
  const { disabledAt: _, ...user } = session.user;
  return { sessionId: session.id, csrfToken: session.csrfToken, user };
}

export async function endSession(db: Db, token: string): Promise<void> {
  await db.session.deleteMany({ where: { tokenHash: hashToken(token) } });
}

/** A cookie's value when it has the shape `pattern` asks for, else null. */
export function cookieOf(headers: Headers, name: string, pattern: RegExp): string | null {
  const header = headers.get("cookie");
  if (!header || header.length > 8192) return null;
  const value = parseCookie(header)[name];
  return value && pattern.test(value) ? value : null;
}

export function sessionCookieOf(headers: Headers): string | null {
  return cookieOf(headers, SESSION_COOKIE, /^[\w-]{43}$/);
}

/** Set-Cookie headers for a new session, or (session null) ones that clear it. */
export function sessionCookies(
  session: { token: string; csrfToken: string; expiresAt: Date } | null,
  secure: boolean,
): string[] {
  const common = { path: "/", sameSite: "lax" as const, secure };
  const expires = session?.expiresAt ?? new Date(0);
  return [
    stringifySetCookie({
      name: SESSION_COOKIE,
      value: session?.token ?? "",
      ...common,
      httpOnly: true,
      expires,
    }),
    stringifySetCookie({ name: CSRF_COOKIE, value: session?.csrfToken ?? "", ...common, expires }),
  ];
}
