// tRPC setup: context, error formatting, and the layered procedures every router uses.
import { randomUUID } from "node:crypto";
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { TokenScope } from "@/generated/prisma/client";
import { Prisma } from "@/generated/prisma/client";
import { AuthError, authorize, type Credentials, credentialsOf } from "@/server/auth/authorize";
import type { Db } from "@/server/db/client";
import { DomainError, type DomainErrorKind } from "@/shared/errors";
import { isStorableText } from "@/shared/storable-text";
import { describeIssue } from "@/shared/zod-issues";

/* ---------- Context ---------- */

export interface Context {
  db: Db;
  /** The address, token, session cookie and CSRF header the request carries, not yet checked. */
  credentials: Credentials;
}

export function createContext(db: Db, headers: Headers): Context {
  return { db, credentials: credentialsOf(headers) };
}

/* ---------- Init ---------- */

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error, path }) {
    // An unexpected error's message may hold SQL, file paths or a query's shape: the client
    // gets an id to quote, and the server's log has the rest.
    if (error.code === "INTERNAL_SERVER_ERROR") {
      const id = randomUUID().slice(0, 8);
      console.error(`[error ${id}] tRPC ${path ?? "?"} failed:`, error.cause ?? error);
      return {
        ...shape,
        message: `internal error ${id}; the server's log has the details`,
        data: { ...shape.data, issues: null, stack: undefined },
      };
    }
    const zodError = error.cause instanceof ZodError ? error.cause : null;
    const issues = zodError?.issues.map((issue) => ({
      path: issue.path.map(String),
      message: issue.message,
    }));
    return {
      ...shape,
      message: zodError ? zodError.issues.map(describeIssue).join("; ") : shape.message,
      data: { ...shape.data, issues: issues ?? null, stack: undefined },
    };
  },
});

export const createTRPCRouter = t.router;

/* ---------- Procedures ---------- */

/** The fields of the unique constraint a P2002 error broke (the driver adapter reports them in its cause). */
function uniqueFields(error: Prisma.PrismaClientKnownRequestError): string[] {
  const meta = error.meta as
    | { target?: string[]; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } }
    | undefined;
  return meta?.target ?? meta?.driverAdapterError?.cause?.constraint?.fields ?? ["value"];
}

const TRPC_CODE: Record<DomainErrorKind, TRPCError["code"]> = {
  not_found: "NOT_FOUND",
  already_exists: "CONFLICT",
  conflict: "CONFLICT",
  invalid: "BAD_REQUEST",
  forbidden: "FORBIDDEN",
  too_large: "PAYLOAD_TOO_LARGE",
};

/** Services' domain errors and database constraint errors become answers a client can act on. */
const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DomainError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: TRPC_CODE[cause.kind], message: cause.message, cause });
  }
  if (!result.ok && result.error.cause instanceof Prisma.PrismaClientKnownRequestError) {
    const cause = result.error.cause;
    if (cause.code === "P2002") {
      throw new TRPCError({
        code: "CONFLICT",
        message: `${uniqueFields(cause).join(", ")} is already taken`,
        cause,
      });
    }
    if (cause.code === "P2025") throw new TRPCError({ code: "NOT_FOUND", message: "not found", cause });
  }
  return result;
});

/**
 * The path of the first string in `value` that PostgreSQL cannot store as text (a NUL, or a
 * lone UTF-16 surrogate), or null. Iterative: input may nest deeply.
 */
export function unstorableTextPath(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length) {
    const [item, path] = stack.pop() as [unknown, string];
    if (typeof item === "string") {
      if (!isStorableText(item)) return path || "input";
    } else if (Array.isArray(item)) {
      for (const [i, child] of item.entries()) stack.push([child, `${path || "input"}[${i}]`]);
    } else if (item && typeof item === "object") {
      for (const [key, child] of Object.entries(item)) {
        if (!isStorableText(key)) return path || "input";
        stack.push([child, path ? `${path}.${key}` : key]);
      }
    }
  }
  return null;
}

/** Refused up front (400), not as PostgreSQL's "invalid byte sequence" (500). */
const storableText = t.middleware(async ({ getRawInput, next }) => {
  const path = unstorableTextPath(await getRawInput());
  if (path)
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `${path} must be valid Unicode text, without NUL (\\u0000) characters or lone surrogates`,
    });
  return next();
});

/** No access rule: only for what a signed-out visitor needs (who am I). */
export const publicProcedure = t.procedure.use(storableText).use(domainErrors);

/** Applies the access rule (src/server/auth/authorize.ts) and records who acts. */
function requireScope(scope: TokenScope) {
  return t.middleware(async ({ ctx, type, next }) => {
    try {
      const identity = await authorize(ctx.db, ctx.credentials, scope, { write: type === "mutation" });
      return next({ ctx: { identity, actor: identity.actor, tokenId: identity.tokenId } });
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      throw new TRPCError({
        code: error.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN",
        message: error.message,
      });
    }
  });
}

export const readProcedure = publicProcedure.use(requireScope("read"));
export const writeProcedure = publicProcedure.use(requireScope("write"));
export const adminProcedure = publicProcedure.use(requireScope("admin"));
