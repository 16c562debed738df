// GET: the experiment's runs, one row each, with every parameter and summary metric.
import { getDb } from "@/server/db/client";
import { access, experimentIdOf, fail } from "@/server/http/route-helpers";
import { experimentRunsCsv } from "@/server/services/exports";

export const dynamic = "force-dynamic";

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const id = experimentIdOf((await params).id);
  if (id === null) return fail(400, "experiment id must be a whole number ≥ 0");
  const db = getDb();
  const identity = await access(db, req, "read");
  if (identity instanceof Response) return identity;
  const experiment = await db.experiment.findUnique({ where: { id }, select: { name: true } });
  if (!experiment) return fail(404, `experiment ${id} does not exist`);
  return new Response(await experimentRunsCsv(db, id), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${experiment.name.replace(/[^\w.-]+/g, "_")}-runs.csv"`,
    },
  });
}
