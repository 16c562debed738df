// An evaluation set's image as the dashboard shows it: a JPEG of at most 128 px.
import { getDb, poolOf } from "@/server/db/client";
import { access, fail, positiveId } from "@/server/http/route-helpers";

export const dynamic = "force-dynamic";

export async function GET(req: Request, { params }: { params: Promise<{ id: string; index: string }> }) {
  const raw = await params;
  const id = positiveId(raw.id);
  const index = raw.index === "0" ? 0 : positiveId(raw.index);
  if (id === null || index === null) return fail(400, "the set id and image index must be whole numbers");
  const db = getDb();
  const identity = await access(db, req, "read");
  if (identity instanceof Response) return identity;
  const { rows } = await poolOf(db).query<{ thumbnail: Buffer }>(
    `SELECT thumbnail FROM "EvaluationImage" WHERE "setId" = $1 AND index = $2`,
    [id, index],
  );
  const image = rows[0];
  if (!image) return fail(404, `evaluation set ${id} has no image ${index}`);
  return new Response(new Uint8Array(image.thumbnail), {
    headers: { "content-type": "image/jpeg", "cache-control": "private, max-age=3600" },
  });
}
