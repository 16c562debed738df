// GET ?format=csv|json: a run's whole metric history, streamed.
import { getDb } from "@/server/db/client";
import { access, fail, positiveId } from "@/server/http/route-helpers";
import { runMetricsExport } from "@/server/services/exports";

export const dynamic = "force-dynamic";

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const id = positiveId((await params).id);
  if (!id) return fail(400, "run id must be a positive integer");
  const format = new URL(req.url).searchParams.get("format") ?? "csv";
  if (format !== "csv" && format !== "json") return fail(400, 'format must be "csv" or "json"');
  const db = getDb();
  const identity = await access(db, req, "read");
  if (identity instanceof Response) return identity;
  const run = await db.run.findFirst({ where: { id, deletedAt: null }, select: { id: true } });
  if (!run) return fail(404, `run ${id} does not exist`);
  return new Response(runMetricsExport(db, id, format), {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json",
      "content-disposition": `attachment; filename="run-${id}-metrics.${format}"`,
    },
  });
}
