import { ExperimentList } from "@/features/experiments/components/experiment-list";

export const metadata = { title: "Experiments · Labbook" };

export default function ExperimentsPage() {
  return <ExperimentList />;
}
