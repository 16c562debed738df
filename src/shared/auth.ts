// Sign-in inputs and roles, shared by the API, the sign-in form and the user CLI.
import { z } from "zod";

export const SESSION_COOKIE = "labbook_session";
/** Readable by the dashboard's script, which echoes it in CSRF_HEADER on writes. */
export const CSRF_COOKIE = "labbook_csrf";
export const CSRF_HEADER = "x-labbook-csrf";

export const ROLES = ["viewer", "editor", "admin"] as const;
export type RoleName = (typeof ROLES)[number];
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
export type SignInInput = z.input<typeof signInSchema>;
