// Sign-in and sign-out for the dashboard, with failed attempts throttled per name and per
// address so a password cannot be guessed online.
import { RateLimiterMemory, type RateLimiterRes } from "rate-limiter-flexible";
import type { Db } from "@/server/db/client";
import { signInSchema } from "@/shared/auth";
import { describeIssue } from "@/shared/zod-issues";
import { createSession, endSession, sessionCookieOf, sessionCookies } from "./sessions";
import { checkPassword } from "./users";

const WINDOW_S = 15 * 60;
const perName = new RateLimiterMemory({ keyPrefix: "name", points: 10, duration: WINDOW_S });
const perAddress = new RateLimiterMemory({ keyPrefix: "address", points: 30, duration: WINDOW_S });

export type SignInResult =
  | { status: 200; user: { name: string; role: string }; cookies: string[] }
  | { status: 400 | 401 | 429; message: string; retryAfterS?: number };

export async function signIn(db: Db, body: unknown, address: string, secure: boolean): Promise<SignInResult> {
  const parsed = signInSchema.safeParse(body);
  if (!parsed.success) return { status: 400, message: parsed.error.issues.map(describeIssue).join("; ") };
  const { name, password } = parsed.data;
  const checked = await checkSignIn(db, name, password, address);
  if ("status" in checked) return checked;
  const { user } = checked;
  const session = await createSession(db, user.id);
  return {
    status: 200,
    user: { name: user.name, role: user.role },
    cookies: sessionCookies(session, secure),
  };
}

/**
 * The user behind a name and password, under the sign-in throttle (per name and per address):
 * the dashboard's sign-in and HTTP basic auth (MLflow clients) share it.
 */
export async function checkSignIn(
  db: Db,
  name: string,
  password: string,
  address: string,
): Promise<
  | { user: NonNullable<Awaited<ReturnType<typeof checkPassword>>> }
  | { status: 401 | 429; message: string; retryAfterS?: number }
> {
  const [byName, byAddress] = await Promise.all([perName.get(name), perAddress.get(address)]);
  const blocked = [byName, byAddress].find((r) => r && r.remainingPoints <= 0);
  if (blocked) return throttled(blocked);
  const user = await checkPassword(db, name, password);
  if (!user) {
    await Promise.all([perName.penalty(name, 1), perAddress.penalty(address, 1)]);
    return { status: 401, message: "wrong user name or password" };
  }
  await perName.delete(name);
  return { user };
}

function throttled(res: RateLimiterRes): { status: 429; message: string; retryAfterS: number } {
  const retryAfterS = Math.ceil(res.msBeforeNext / 1000);
  return { status: 429, message: `too many failed sign-ins; try again in ${retryAfterS} s`, retryAfterS };
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
