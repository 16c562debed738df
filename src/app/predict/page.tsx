import { PredictView } from "@/features/predict/components/predict-view";

export default function PredictPage() {
  return <PredictView />;
}
