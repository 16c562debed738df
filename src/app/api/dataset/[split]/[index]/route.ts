// GET /api/dataset/test/<index>?scale=1..8: one test-set image as PNG.
import { getDb } from "@/server/db/client";
import { access, fail } from "@/server/http/route-helpers";
import { DatasetImageError, testImagePng } from "@/server/services/dataset-images";

export const dynamic = "force-dynamic";

export async function GET(req: Request, { params }: { params: Promise<{ split: string; index: string }> }) {
  const identity = await access(getDb(), req, "read");
  if (identity instanceof Response) return identity;
  const { split, index } = await params;
  if (split !== "test") return fail(404, `split must be "test", not "${split}"`);
  const i = Number(index);
  if (!Number.isInteger(i) || i < 0) return fail(400, "index must be an integer ≥ 0");
  const scale = Number(new URL(req.url).searchParams.get("scale") ?? 1);
  if (!Number.isInteger(scale) || scale < 1 || scale > 8)
    return fail(400, "scale must be an integer from 1 to 8");
  try {
    const png = await testImagePng(i, scale);
    return new Response(new Uint8Array(png), {
      headers: { "content-type": "image/png", "cache-control": "private, max-age=86400, immutable" },
    });
  } catch (error) {
    if (error instanceof DatasetImageError) return fail(error.status, error.message);
    throw error;
  }
}
