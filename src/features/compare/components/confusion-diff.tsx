"use client";
// Two runs' final confusion matrices as one diff: which confusions run B fixed or made worse
// compared with run A.
import { useQuery } from "@tanstack/react-query";
import { ErrorNote, Panel } from "@/components/ui";
import { ConfusionMatrix, type Matrix } from "@/features/evaluation/components/confusion-matrix";
import { useTRPC } from "@/lib/trpc";
import { CLASS_NAMES } from "@/shared/cifar10-classes";

export function confusionChanges(a: Matrix, b: Matrix, count = 3) {
  const cells = a.flatMap((row, i) =>
    row
      .map((v, j) => ({ trueClass: i, predicted: j, delta: (b[i]?.[j] ?? 0) - v }))
      .filter((c) => c.trueClass !== c.predicted),
  );
  const sorted = [...cells].sort((x, y) => x.delta - y.delta);
  return {
    fixed: sorted.filter((c) => c.delta < 0).slice(0, count),
    worse: sorted
      .filter((c) => c.delta > 0)
      .reverse()
      .slice(0, count),
  };
}

const describe = (c: { trueClass: number; predicted: number; delta: number }) =>
  `${CLASS_NAMES[c.trueClass]} → ${CLASS_NAMES[c.predicted]} (${c.delta > 0 ? "+" : ""}${c.delta})`;

export function ConfusionDiff({
  runA,
  runB,
}: {
  runA: { id: number; name: string };
  runB: { id: number; name: string };
}) {
  const trpc = useTRPC();
  const a = useQuery(trpc.run.evaluation.queryOptions({ id: runA.id }));
  const b = useQuery(trpc.run.evaluation.queryOptions({ id: runB.id }));
  if (!a.data || !b.data) {
    const error = [a.error, b.error].find((e) => e && e.data?.code !== "NOT_FOUND");
    return (
      <Panel title="Confusion matrix diff">
        {error ? (
          <ErrorNote error={error} />
        ) : (
          <p className="text-sm text-slate-500">
            {a.isLoading || b.isLoading ? "Loading…" : "Both runs need a final test evaluation for a diff."}
          </p>
        )}
      </Panel>
    );
  }
  const ma = a.data.confusionMatrix as Matrix;
  const mb = b.data.confusionMatrix as Matrix;
  const { fixed, worse } = confusionChanges(ma, mb);
  return (
    <Panel
      title={`Confusion matrix diff: #${runB.id} ${runB.name} minus #${runA.id} ${runA.name}`}
      testId="confusion-diff"
    >
      <div className="flex flex-wrap gap-6">
        <ConfusionMatrix matrix={mb} base={ma} testId="confusion-diff-matrix" />
        <div className="max-w-sm space-y-2 text-sm">
          <p className="text-slate-600">
            Green: run #{runB.id} is better there (more correct on the diagonal, fewer confusions elsewhere);
            red: worse.
          </p>
          <p>
            <span className="font-semibold text-emerald-700">Fixed most:</span>{" "}
            {fixed.map(describe).join(", ") || "none"}
          </p>
          <p>
            <span className="font-semibold text-red-700">Worse most:</span>{" "}
            {worse.map(describe).join(", ") || "none"}
          </p>
        </div>
      </div>
    </Panel>
  );
}
