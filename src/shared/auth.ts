// Sign-in inputs and roles, shared by the API, the sign-in form and the user CLI.
import { z } from "zod";

export const SESSION_COOKIE = "labbook_session";
/** Readable by the dashboard's script, which echoes it in CSRF_HEADER on writes. */
export const CSRF_COOKIE = "labbook_csrf";
export const CSRF_HEADER = "x-labbook-csrf";
/** Sent only to the sign-in route: marks a browser its user signed in from before. */
export const DEVICE_COOKIE = "labbook_device";

export const ROLES = ["viewer", "editor", "admin"] as const;
export const MIN_PASSWORD_LENGTH = 10;
/** Longer passwords are refused before hashing: scrypt's work grows with the input. */
export const MAX_PASSWORD_LENGTH = 256;

export const userNameSchema = z
  .string({ error: "must be text" })
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9_.@-]{0,63}$/, {
    error: "must be 1–64 letters, digits, _ . @ - and start with a letter or digit",
  });

export const passwordSchema = z
  .string({ error: "must be text" })
  .min(MIN_PASSWORD_LENGTH, { error: `must be at least ${MIN_PASSWORD_LENGTH} characters` })
  .max(MAX_PASSWORD_LENGTH, { error: `must be at most ${MAX_PASSWORD_LENGTH} characters` });

export const signInSchema = z.object({
  name: userNameSchema,
  // Any length up to the cap: the rule for new passwords must not lock out older ones.
  password: z.string({ error: "must be text" }).min(1, { error: "is required" }).max(MAX_PASSWORD_LENGTH),
});

/**
 * Where to go after signing in: `next` resolved against this page's origin, kept only when it
 * stays there. URL parsing drops tabs and newlines, so "/\t/evil.example" is "//evil.example":
 * only the parsed result can be judged.
 */
export function sameOriginPath(next: string | null, origin: string, fallback = "/experiments"): string {
  if (!next) return fallback;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return fallback;
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  // "//host" would be read as another site once assigned to window.location.
  return url.origin === new URL(origin).origin && !/^\/[/\\]/.test(path) ? path : fallback;
}
