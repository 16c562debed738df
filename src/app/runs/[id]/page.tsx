import { notFound, redirect } from "next/navigation";
import { RunPage } from "@/features/runs/components/run-page";
import { getDb } from "@/server/db/client";

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const raw = (await params).id;
  // An MLflow run id (MLflow's client prints links with it) leads to the run's page.
  if (/^[0-9a-f]{32}$/.test(raw)) {
    const run = await getDb().run.findUnique({ where: { uuid: raw }, select: { id: true } });
    if (!run) notFound();
    redirect(`/runs/${run.id}`);
  }
  const id = Number(raw);
  if (!Number.isInteger(id) || id <= 0) notFound();
  return <RunPage id={id} />;
}
