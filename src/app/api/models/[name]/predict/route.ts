// POST an image (PNG or JPEG, any size, as the raw body or a multipart "image" field):
// the top classes from the version an alias (default production) or ?version=N points at.
import { MAX_UPLOAD_BYTES } from "@/features/predict/preprocess";
import { getDb } from "@/server/db/client";
import { remoteAddressOf } from "@/server/http/remote-address";
import {
  access,
  BodyTooLargeError,
  fail,
  failFromDomain,
  positiveId,
  readBodyCapped,
} from "@/server/http/route-helpers";
import { ImageInputError } from "@/server/predict/decode";
import { predictUpload, throttlePredictions } from "@/server/predict/predictor";
import { resolveAlias, resolveVersion } from "@/server/services/registry";
import { aliasSchema, modelNameSchema } from "@/shared/registry";

export const dynamic = "force-dynamic";

/** The image, from the raw body or a multipart "image" field; the body is capped as it streams in. */
async function uploadedBytes(req: Request): Promise<Buffer> {
  let body: Buffer;
  try {
    // A multipart envelope adds a little around the file.
    body = await readBodyCapped(req, MAX_UPLOAD_BYTES + 64 * 1024);
  } catch (error) {
    if (error instanceof BodyTooLargeError)
      throw new ImageInputError(413, `images are limited to ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB`);
    throw error;
  }
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/form-data")) return body;
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(body), { headers: { "content-type": type } }).formData();
  } catch {
    throw new ImageInputError(400, "the multipart body could not be read");
  }
  const file = form.get("image");
  if (!(file instanceof Blob)) throw new ImageInputError(400, 'the form has no "image" file');
  return Buffer.from(await file.arrayBuffer());
}

/** The 4xx or 503 for a refused image or request, with when to retry where that applies. */
function inputErrorResponse(error: ImageInputError): Response {
  const response = fail(error.status, error.message);
  if (error.status === 429 || error.status === 503)
    response.headers.set("retry-after", String(error.retryAfterS));
  return response;
}

export async function POST(req: Request, { params }: { params: Promise<{ name: string }> }) {
  const name = modelNameSchema.safeParse(decodeURIComponent((await params).name));
  if (!name.success) return fail(400, `model name ${name.error.issues[0]?.message}`);
  const query = new URL(req.url).searchParams;
  const db = getDb();
  try {
    // Counted as the request arrives, before any database work: under a flood the lookups
    // queue, and a limit checked after them let through more than its share in its window.
    await throttlePredictions(remoteAddressOf(req.headers));
  } catch (error) {
    if (ImageInputError.is(error)) return inputErrorResponse(error);
    throw error;
  }
  const identity = await access(db, req, "read");
  if (identity instanceof Response) return identity;
  try {
    const version = query.has("version")
      ? await resolveVersion(db, name.data, positiveId(query.get("version") ?? "") ?? 0)
      : await (async () => {
          const alias = aliasSchema.safeParse(query.get("alias") ?? "production");
          if (!alias.success) throw new ImageInputError(400, `alias ${alias.error.issues[0]?.message}`);
          return resolveAlias(db, name.data, alias.data);
        })();
    const result = await predictUpload(db, version, await uploadedBytes(req));
    return Response.json({
      model: name.data,
      version: version.version,
      runId: version.runId,
      image: { width: result.width, height: result.height },
      top: result.predictions.slice(0, 3),
      probabilities: result.predictions,
      ms: result.ms,
    });
  } catch (error) {
    if (ImageInputError.is(error)) return inputErrorResponse(error);
    return failFromDomain(error);
  }
}
