// PUT uploads an artifact of a run (checked by size and sha256); GET downloads it.
import { getDb } from "@/server/db/client";
import { largeBodies } from "@/server/http/body";
import {
  access,
  BodyTooLargeError,
  fail,
  failFromDomain,
  positiveId,
  readBodyCapped,
} from "@/server/http/route-helpers";
import { findArtifact, storeArtifact, streamArtifact } from "@/server/services/artifacts";
import { assertWorkerMayWrite } from "@/server/services/run-writers";
import {
  ARTIFACT_KIND_HEADER,
  ARTIFACT_KINDS,
  ARTIFACT_SHA256_HEADER,
  artifactNameSchema,
  MAX_ARTIFACT_BYTES,
} from "@/shared/artifacts";

export const dynamic = "force-dynamic";

type Params = { params: Promise<{ id: string; name: string }> };

async function target(params: Params["params"]): Promise<{ runId: number; name: string } | Response> {
  const { id, name } = await params;
  const runId = positiveId(id);
  if (!runId) return fail(400, "run id must be a positive integer");
  const parsed = artifactNameSchema.safeParse(decodeURIComponent(name));
  if (!parsed.success) return fail(400, `artifact name ${parsed.error.issues[0]?.message}`);
  return { runId, name: parsed.data };
}

export async function PUT(req: Request, { params }: Params) {
  const where = await target(params);
  if (where instanceof Response) return where;
  const db = getDb();
  const identity = await access(db, req, "write");
  if (identity instanceof Response) return identity;
  // Only a worker uploads, with its token or from this machine; a browser session never does.
  if (identity.kind === "session") return fail(403, "artifacts are uploaded by workers, with an API token");
  const tokenId = identity.tokenId;
  // Before the body is read: a refused upload costs no memory.
  try {
    await assertWorkerMayWrite(db, where.runId, identity);
  } catch (error) {
    return failFromDomain(error);
  }
  const kind = req.headers.get(ARTIFACT_KIND_HEADER) ?? "other";
  if (!(ARTIFACT_KINDS as readonly string[]).includes(kind))
    return fail(400, `${ARTIFACT_KIND_HEADER} must be one of ${ARTIFACT_KINDS.join(", ")}`);
  const sha256 = req.headers.get(ARTIFACT_SHA256_HEADER);
  if (!sha256 || !/^[0-9a-f]{64}$/i.test(sha256))
    return fail(400, `${ARTIFACT_SHA256_HEADER} must be the body's sha256 in hex`);
  const declared = Number(req.headers.get("content-length") ?? Number.NaN);
  // At most two bodies in memory at once: parallel 256 MiB uploads wait, unread.
  return largeBodies(async () => {
    let bytes: Buffer;
    try {
      bytes = await readBodyCapped(req, MAX_ARTIFACT_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        return fail(413, `artifacts are limited to ${MAX_ARTIFACT_BYTES / 1024 / 1024} MiB`);
      throw error;
    }
    if (Number.isFinite(declared) && declared !== bytes.length)
      return fail(400, `received ${bytes.length} of ${declared} bytes`);
    try {
      const artifact = await storeArtifact(db, {
        ...where,
        kind: kind as (typeof ARTIFACT_KINDS)[number],
        contentType: req.headers.get("content-type") ?? "application/octet-stream",
        bytes,
        sha256,
        tokenId,
      });
      return Response.json(artifact, { status: 201 });
    } catch (error) {
      return failFromDomain(error);
    }
  });
}

export async function GET(req: Request, { params }: Params) {
  const where = await target(params);
  if (where instanceof Response) return where;
  const db = getDb();
  const identity = await access(db, req, "read");
  if (identity instanceof Response) return identity;
  const artifact = await findArtifact(db, where.runId, where.name);
  if (!artifact) return fail(404, `run ${where.runId} has no artifact named ${where.name}`);
  return new Response(streamArtifact(db, artifact), {
    headers: {
      "content-type": artifact.contentType,
      "content-length": String(artifact.size),
      etag: `"${artifact.sha256}"`,
      [ARTIFACT_SHA256_HEADER]: artifact.sha256,
      "content-disposition": `attachment; filename="run-${where.runId}-${where.name}"`,
    },
  });
}
