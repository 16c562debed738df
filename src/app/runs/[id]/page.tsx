import { notFound } from "next/navigation";
import { RunPage } from "@/features/runs/components/run-page";

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const id = Number((await params).id);
  if (!Number.isInteger(id) || id <= 0) notFound();
  return <RunPage id={id} />;
}
