// tRPC setup: context, error formatting, and the layered procedures every router uses.
import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { TokenScope } from "@/generated/prisma/client";
import { Prisma } from "@/generated/prisma/client";
import { findApiToken, isLoopback, SCOPE_RANK } from "@/server/auth/tokens";
import type { Db } from "@/server/db/client";
import { REMOTE_ADDRESS_HEADER } from "@/server/http/remote-address";
import { describeIssue } from "@/shared/zod-issues";

/* ---------- Context ---------- */

export interface Context {
  db: Db;
  /** The client's address as Labbook's HTTP server saw it; null when unknown. */
  remoteAddress: string | null;
  /** The bearer token sent with the request, not yet verified. */
  bearerToken: string | null;
}

export function createContext(db: Db, headers: Headers): Context {
  const authorization = headers.get("authorization");
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? null;
  return { db, remoteAddress: headers.get(REMOTE_ADDRESS_HEADER), bearerToken: bearer };
}

/* ---------- Init ---------- */

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
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
export const createCallerFactory = t.createCallerFactory;

/* ---------- Procedures ---------- */

/** The fields of the unique constraint a P2002 error broke (the driver adapter reports them in its cause). */
function uniqueFields(error: Prisma.PrismaClientKnownRequestError): string[] {
  const meta = error.meta as
    | { target?: string[]; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } }
    | undefined;
  return meta?.target ?? meta?.driverAdapterError?.cause?.constraint?.fields ?? ["value"];
}

/** Database constraint errors become the HTTP answers a client can act on. */
const prismaErrors = t.middleware(async ({ next }) => {
  const result = await next();
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

export const publicProcedure = t.procedure.use(prismaErrors);

/**
 * Requires a token of at least `scope` from any client that is not on this machine; local
 * clients may write without one. A token that is sent is always checked.
 */
function requireScope(scope: TokenScope) {
  return t.middleware(async ({ ctx, next }) => {
    const token = ctx.bearerToken ? await findApiToken(ctx.db, ctx.bearerToken) : null;
    if (ctx.bearerToken && !token) {
      throw new TRPCError({ code: "UNAUTHORIZED", message: "the API token is invalid or revoked" });
    }
    if (!token && !isLoopback(ctx.remoteAddress)) {
      throw new TRPCError({
        code: "UNAUTHORIZED",
        message: `writes from ${ctx.remoteAddress ?? "a remote client"} need an API token: send "Authorization: Bearer <token>" (create one with npm run token -- create)`,
      });
    }
    if (token && SCOPE_RANK[token.scope] < SCOPE_RANK[scope]) {
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `the token "${token.name}" has scope ${token.scope}; this needs ${scope}`,
      });
    }
    return next({ ctx: { actor: token ? `token:${token.name}` : "local" } });
  });
}

export const writeProcedure = publicProcedure.use(requireScope("write"));
export const adminProcedure = publicProcedure.use(requireScope("admin"));
