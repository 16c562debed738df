import { Suspense } from "react";
import { Loading } from "@/components/ui";
import { CompareView } from "@/features/compare/components/compare-view";

export default function ComparePage() {
  return (
    <Suspense fallback={<Loading />}>
      <CompareView />
    </Suspense>
  );
}
