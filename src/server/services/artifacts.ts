// Run artifacts kept in Postgres (bytea): stored whole after their size and sha256 check, and
// replaced under the same name (so one "checkpoint" artifact is always the latest) while the
// run is running, from its worker only (an MLflow run's, until it is deleted): run-writers.ts.
// A finished run's artifacts are read-only (a registered model's weights must not change).
import { createHash } from "node:crypto";
import type { ArtifactKind } from "@/generated/prisma/client";
import { type Db, poolOf } from "@/server/db/client";
import {
  ConflictError,
  type DomainError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from "@/shared/errors";

export async function storeArtifact(
  db: Db,
  input: {
    runId: number;
    name: string;
    kind: ArtifactKind;
    contentType: string;
    bytes: Buffer;
    /** The sha256 the client computed, checked against the bytes (MLflow's client sends none). */
    sha256?: string;
    /** The uploading token (null: a local client without one). */
    tokenId: number | null;
  },
) {
  const actual = createHash("sha256").update(input.bytes).digest("hex");
  if (input.sha256 !== undefined && actual !== input.sha256.toLowerCase()) {
    throw new InvalidInputError(`sha256 mismatch: received bytes hash to ${actual}, not ${input.sha256}`);
  }
  // Through pg, which sends the Buffer as a binary parameter: Prisma encoded a 19 MB
  // checkpoint in JavaScript and stalled the server's event loop for about a second.
  const { rows } = await poolOf(db).query<StoredArtifact>(STORE_SQL, [
    input.runId,
    input.name,
    input.kind,
    input.contentType,
    input.bytes.length,
    actual,
    input.bytes,
    input.tokenId,
  ]);
  const stored = rows[0];
  if (!stored) throw await refusal(db, input.runId);
  return stored;
}

/** Why STORE_SQL stored nothing: no such run, a finished one, or another worker's. */
async function refusal(db: Db, runId: number): Promise<DomainError> {
  const run = await db.run.findFirst({ where: { id: runId, deletedAt: null }, select: { status: true } });
  if (!run) return new NotFoundError(`run ${runId} does not exist`);
  if (run.status === "running")
    return new ForbiddenError(
      `run ${runId} is running; only the token of the worker holding it may upload its artifacts`,
    );
  return new ConflictError(`run ${runId} is ${run.status}; its artifacts are read-only`);
}

interface StoredArtifact {
  id: number;
  runId: number;
  kind: ArtifactKind;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  createdAt: Date;
}

const STORE_SQL = `
  INSERT INTO "Artifact" ("runId", name, kind, "contentType", size, sha256, data, "createdAt")
  SELECT id, $2, $3::"ArtifactKind", $4, $5, $6, $7, now() FROM "Run" r
  WHERE id = $1 AND "deletedAt" IS NULL
    AND (source = 'mlflow'
      OR status = 'running' AND EXISTS (
        SELECT 1 FROM "Worker" w WHERE w.id = r."workerId" AND w."tokenId" IS NOT DISTINCT FROM $8::int))
  ON CONFLICT ("runId", name) DO UPDATE SET
    kind = EXCLUDED.kind, "contentType" = EXCLUDED."contentType", size = EXCLUDED.size,
    sha256 = EXCLUDED.sha256, data = EXCLUDED.data, "createdAt" = EXCLUDED."createdAt"
  RETURNING id, "runId", kind, name, "contentType", size, sha256, "createdAt"`;

/**
 * An artifact's bytes, or null, read in slices (streamArtifact). Prisma turned a 4.7 MB
 * weights.bin into a Uint8Array slowly, and the server's other requests waited 0.7–0.9 s.
 */
export async function readArtifact(db: Db, runId: number, name: string): Promise<Buffer | null> {
  const artifact = await findArtifact(db, runId, name);
  if (!artifact) return null;
  return Buffer.from(await new Response(streamArtifact(db, artifact)).arrayBuffer());
}

const CHUNK_BYTES = 1024 * 1024;

/**
 * An artifact's bytes as a stream of 1 MiB slices read one query at a time, so a large model
 * never sits whole in the server's memory. The column is stored uncompressed (see the
 * artifact_streaming migration), which lets PostgreSQL read a slice without the rest.
 */
export function streamArtifact(db: Db, artifact: { id: number; size: number }): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    async pull(controller) {
      if (offset >= artifact.size) {
        controller.close();
        return;
      }
      const { rows } = await poolOf(db).query<{ chunk: Buffer }>(
        `SELECT substring(data FROM $1 FOR $2) AS chunk FROM "Artifact" WHERE id = $3`,
        [offset + 1, CHUNK_BYTES, artifact.id],
      );
      const chunk = rows[0]?.chunk;
      if (!chunk?.length) {
        controller.error(new Error(`artifact ${artifact.id} changed or vanished while it was read`));
        return;
      }
      offset += chunk.length;
      controller.enqueue(new Uint8Array(chunk));
    },
  });
}

/**
 * An artifact's metadata (no bytes). A deleted run's artifacts are not served, unless its model
 * is registered: the registry still links to its files.
 */
export async function findArtifact(db: Db, runId: number, name: string) {
  return db.artifact.findFirst({
    where: { runId, name, run: { OR: [{ deletedAt: null }, { modelVersions: { some: {} } }] } },
  });
}

export async function listArtifacts(db: Db, runId: number) {
  return db.artifact.findMany({ where: { runId, run: { deletedAt: null } }, orderBy: { name: "asc" } });
}
