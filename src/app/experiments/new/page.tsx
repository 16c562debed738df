import { NewExperimentForm } from "@/features/experiments/components/new-experiment-form";

export const metadata = { title: "New experiment · Labbook" };

export default function NewExperimentPage() {
  return <NewExperimentForm />;
}
