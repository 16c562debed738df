"use client";
// A run's test-set evaluation (with an epoch slider when the run has per-epoch evaluations):
// the confusion matrix, per-class precision/recall/F1 and the misclassified images.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ErrorNote, Loading, Panel } from "@/components/ui";
import { formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import type { ClassMetrics, Misclassified } from "@/shared/scoring";
import type { Matrix } from "./confusion-matrix";
import { EvaluationReport } from "./evaluation-report";

/** `live`: the run is training, and per-epoch evaluations may arrive. */
export function EvaluationPanel({ runId, live = false }: { runId: number; live?: boolean }) {
  const trpc = useTRPC();
  const list = useQuery({
    ...trpc.run.evaluations.queryOptions({ id: runId }),
    refetchInterval: live ? 5_000 : false,
  });
  const epochs = (list.data ?? []).filter((e) => e.split === "test").map((e) => e.epoch);
  const [epoch, setEpoch] = useState<number | null>(null);
  const shown = epoch ?? (epochs.includes(0) ? 0 : (epochs.at(-1) ?? 0));
  const evaluation = useQuery({
    ...trpc.run.evaluation.queryOptions({ id: runId, epoch: shown }),
    enabled: epochs.length > 0,
  });

  if (list.isLoading) return <Loading />;
  if (epochs.length === 0)
    return (
      <Panel title="Test set">
        <p className="text-sm text-slate-500">No evaluation yet: it is reported when the run finishes.</p>
      </Panel>
    );
  const data = evaluation.data;
  const matrix = data?.confusionMatrix as Matrix | undefined;
  const perClass = (data?.perClass ?? []) as unknown as ClassMetrics[];
  const misclassified = (data?.misclassified ?? []) as unknown as Misclassified[];
  const perEpoch = epochs.filter((e) => e > 0);

  return (
    <Panel
      title={`Test set${data ? `: accuracy ${formatPercent(data.accuracy, 2)}${Number.isFinite(data.loss) ? `, loss ${data.loss.toFixed(4)}` : ""}` : ""}`}
      testId="evaluation"
    >
      <ErrorNote error={evaluation.error} />
      {perEpoch.length > 0 && (
        <label className="mb-3 flex items-center gap-3 text-sm">
          <span className="text-slate-600">Epoch</span>
          <input
            type="range"
            aria-label="Evaluation epoch"
            min={0}
            max={epochs.length - 1}
            value={epochs.indexOf(shown)}
            onChange={(e) => setEpoch(epochs[Number(e.target.value)] ?? 0)}
          />
          <span className="tabular-nums" data-testid="evaluation-epoch">
            {shown === 0 ? "final (kept weights)" : `after epoch ${shown}`}
          </span>
        </label>
      )}
      {matrix && (
        <EvaluationReport
          matrix={matrix}
          perClass={perClass}
          misclassified={misclassified}
          image={(m) => ({
            src: `/api/dataset/test/${m.index}?scale=3`,
            name: `CIFAR-10 test sample ${m.index}`,
            pixelated: true,
          })}
        />
      )}
    </Panel>
  );
}
