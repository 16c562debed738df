// Sign-in and sign-out for the dashboard, under the sign-in throttle (sign-in-throttle.ts).
import { randomBytes } from "node:crypto";
import { stringifySetCookie } from "cookie";
import type { Db } from "@/server/db/client";
import { UNKNOWN_CLIENT } from "@/server/http/remote-address";
import { DEVICE_COOKIE, signInSchema } from "@/shared/auth";
import { describeIssue } from "@/shared/zod-issues";
import { hashingIsBusy } from "./passwords";
import { cookieOf, createSession, endSession, sessionCookieOf, sessionCookies } from "./sessions";
import { chargeSignIn, deviceClient, settleSuccess } from "./sign-in-throttle";
import { checkPassword } from "./users";

export type SignInResult =
  | { status: 200; user: { name: string; role: string }; cookies: string[] }
  | { status: 400 | 401 | 429; message: string; retryAfterS?: number };

export async function signIn(
  db: Db,
  body: unknown,
  request: { address: string; headers: Headers; secure: boolean },
): Promise<SignInResult> {
  const parsed = signInSchema.safeParse(body);
  if (!parsed.success) return { status: 400, message: parsed.error.issues.map(describeIssue).join("; ") };
  const { name, password } = parsed.data;
  const device = cookieOf(request.headers, DEVICE_COOKIE, /^[\w-]{16,64}$/);
  const checked = await checkSignIn(db, name, password, request.address, { device });
  if ("status" in checked) return checked;
  const { user } = checked;
  const session = await createSession(db, user.id);
  return {
    status: 200,
    user: { name: user.name, role: user.role },
    cookies: [
      ...sessionCookies(session, request.secure),
      ...(checked.device ? [deviceCookie(checked.device, request.secure)] : []),
    ],
  };
}

/**
 * The user behind a name and password, under the sign-in throttle: the dashboard's sign-in
 * and HTTP basic auth (MLflow clients) share it. A browser (`device` given, null when it sent
 * none) gets back its device token: the one it sent if that was known, else a new one.
 */
export async function checkSignIn(
  db: Db,
  name: string,
  password: string,
  address: string,
  browser?: { device: string | null },
): Promise<
  | { user: NonNullable<Awaited<ReturnType<typeof checkPassword>>>; device: string | null }
  | { status: 401 | 429; message: string; retryAfterS?: number }
> {
  if (hashingIsBusy()) return throttled(1, "sign-in is busy");
  const device = browser?.device ?? null;
  const charged = await chargeSignIn(db, { name, address, device });
  if ("waitS" in charged) return throttled(charged.waitS, "too many failed sign-ins");
  const user = await checkPassword(db, name, password);
  if (!user) return { status: 401, message: "wrong user name or password" };
  // A program (HTTP basic auth) keeps no cookie: only browsers get a device token.
  const kept = !browser
    ? null
    : device && charged.charged[0]?.address === deviceClient(device)
      ? device
      : newDeviceToken();
  // Everyone behind a proxy that names no client shares UNKNOWN_CLIENT: it vouches for nobody.
  const clients = [...(kept ? [deviceClient(kept)] : []), ...(address === UNKNOWN_CLIENT ? [] : [address])];
  await settleSuccess(db, charged.charged, user.id, clients);
  return { user, device: kept };
}

function throttled(retryAfterS: number, why: string): { status: 429; message: string; retryAfterS: number } {
  return { status: 429, message: `${why}; try again in ${retryAfterS} s`, retryAfterS };
}

const newDeviceToken = () => randomBytes(24).toString("base64url");

/** Marks the browser as one its user signed in from, for a year (sign-in-throttle.ts). */
function deviceCookie(token: string, secure: boolean): string {
  return stringifySetCookie({
    name: DEVICE_COOKIE,
    value: token,
    path: "/api/auth/signin",
    httpOnly: true,
    sameSite: "strict",
    secure,
    maxAge: 365 * 24 * 3600,
  });
}

/** Ends the request's session (if any) and returns the cookies that clear it. */
export async function signOut(db: Db, headers: Headers, secure: boolean): Promise<string[]> {
  const token = sessionCookieOf(headers);
  if (token) await endSession(db, token);
  return sessionCookies(null, secure);
}

/** Cookies get the Secure flag when the browser reached Labbook over https. */
export function isHttps(req: Request): boolean {
  return new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
}
