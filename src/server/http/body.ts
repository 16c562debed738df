// Request bodies, read under a byte limit, for Next.js routes (a Request's stream) and the
// MLflow API (Node's IncomingMessage) alike.
import pLimit from "p-limit";

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the body is over the limit of ${Math.round(limit / 1024 / 1024)} MiB`);
  }
}

/** Large bodies (artifacts, evaluation sets) in memory at once; more wait their turn, unread. */
export const largeBodies = pLimit(2);

/**
 * Reads the body, refused as soon as it passes `limit` bytes (a chunked body declares no
 * length, so the declared length alone bounds nothing). With a Content-Length the bytes go
 * straight into one buffer of that size: a 256 MiB upload is held once, not twice.
 */
export async function readBounded(
  body: AsyncIterable<Uint8Array> | null,
  contentLength: string | null | undefined,
  limit: number,
): Promise<Buffer> {
  const declared = contentLength ? Number(contentLength) : Number.NaN;
  if (declared > limit) throw new BodyTooLargeError(limit);
  if (!body) return Buffer.alloc(0);
  if (Number.isInteger(declared) && declared >= 0) {
    const buffer = Buffer.allocUnsafe(declared);
    let size = 0;
    for await (const chunk of body) {
      if (size + chunk.byteLength > declared) throw new BodyTooLargeError(limit);
      buffer.set(chunk, size);
      size += chunk.byteLength;
    }
    return size === declared ? buffer : buffer.subarray(0, size);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
