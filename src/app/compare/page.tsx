import { CompareView } from "@/features/compare/components/compare-view";

export default async function ComparePage({ searchParams }: { searchParams: Promise<{ runs?: string }> }) {
  const raw = (await searchParams).runs ?? "";
  const runIds = [...new Set(raw.split(",").map(Number))]
    .filter((id) => Number.isInteger(id) && id > 0)
    .slice(0, 100);
  return <CompareView runIds={runIds} />;
}
