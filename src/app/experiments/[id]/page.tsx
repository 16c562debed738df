import { notFound } from "next/navigation";
import { ExperimentDetail } from "@/features/experiments/components/experiment-detail";

export default async function ExperimentPage({ params }: { params: Promise<{ id: string }> }) {
  const id = Number((await params).id);
  // Experiment 0 is MLflow's default experiment.
  if (!Number.isInteger(id) || id < 0) notFound();
  return <ExperimentDetail id={id} />;
}
