import { ModelList } from "@/features/models/components/model-list";

export default function ModelsPage() {
  return <ModelList />;
}
