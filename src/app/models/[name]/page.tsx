import { ModelDetail } from "@/features/models/components/model-detail";

export default async function ModelPage({ params }: { params: Promise<{ name: string }> }) {
  return <ModelDetail name={decodeURIComponent((await params).name)} />;
}
