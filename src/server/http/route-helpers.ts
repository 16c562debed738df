// Small pieces every plain (non-tRPC) route uses, so their errors look like the API's.
import type { TokenScope } from "@/generated/prisma/client";
import { AuthError, authorize, credentialsOf, type Identity } from "@/server/auth/authorize";
import type { Db } from "@/server/db/client";
import { DomainError, HTTP_STATUS } from "@/shared/errors";
import { MAX_DB_INT } from "@/shared/ids";
import { readBounded } from "./body";

export const fail = (status: number, message: string) => Response.json({ error: { message } }, { status });

/** A service's domain error as this API's answer; anything else is rethrown (a 500, masked). */
export function failFromDomain(error: unknown): Response {
  if (error instanceof DomainError) return fail(HTTP_STATUS[error.kind], error.message);
  throw error;
}

/** The caller's identity when it may act at `scope` (the API's rule), else the 401/403 to send. */
export async function access(db: Db, req: Request, scope: TokenScope): Promise<Identity | Response> {
  try {
    const write = !["GET", "HEAD"].includes(req.method);
    return await authorize(db, credentialsOf(req.headers), scope, { write });
  } catch (error) {
    if (error instanceof AuthError) return fail(error.status, error.message);
    throw error;
  }
}

/** An experiment id path segment (0 is MLflow's default experiment), or null. */
export function experimentIdOf(raw: string): number | null {
  return raw === "0" ? 0 : positiveId(raw);
}

/** A positive integer path segment within PostgreSQL's int4, or null. */
export function positiveId(raw: string): number | null {
  const id = Number(raw);
  return Number.isInteger(id) && id > 0 && id <= MAX_DB_INT ? id : null;
}

export { BodyTooLargeError } from "./body";

/** The request body, at most `limit` bytes (body.ts). */
export function readBodyCapped(req: Request, limit: number): Promise<Buffer> {
  return readBounded(req.body as AsyncIterable<Uint8Array> | null, req.headers.get("content-length"), limit);
}
