"use client";
// A run's test-set evaluation: the confusion matrix (with an epoch slider when the run has
// per-epoch evaluations), per-class precision/recall/F1, and the misclassified images of a
// clicked cell with their predicted probabilities.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { DataTable } from "@/components/data-table";
import { ErrorNote, Loading, Panel } from "@/components/ui";
import { formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { CLASS_NAMES } from "@/shared/cifar10-classes";
import { ConfusionMatrix, type Matrix } from "./confusion-matrix";

interface PerClass {
  class: number;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}
interface Misclassified {
  index: number;
  label: number;
  predicted: number;
  probabilities: number[];
}

const SHOWN_IMAGES = 48;

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
  const [cell, setCell] = useState<[number, number] | null>(null);

  if (list.isLoading) return <Loading />;
  if (epochs.length === 0)
    return (
      <Panel title="Test set">
        <p className="text-sm text-slate-500">No evaluation yet: it is reported when the run finishes.</p>
      </Panel>
    );
  const data = evaluation.data;
  const matrix = data?.confusionMatrix as Matrix | undefined;
  const perClass = (data?.perClass ?? []) as unknown as PerClass[];
  const misclassified = ((data?.misclassified ?? []) as unknown as Misclassified[]).filter(
    (m) => cell && m.label === cell[0] && m.predicted === cell[1],
  );
  const perEpoch = epochs.filter((e) => e > 0);

  return (
    <Panel
      title={`Test set${data ? `: accuracy ${formatPercent(data.accuracy, 2)}, loss ${data.loss.toFixed(4)}` : ""}`}
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
        <div className="flex flex-wrap gap-6">
          <ConfusionMatrix matrix={matrix} selected={cell} onSelect={setCell} />
          <DataTable
            size="compact"
            testId="per-class"
            rows={perClass}
            rowKey={(c) => c.class}
            columns={[
              { key: "class", header: "class", cell: (c) => CLASS_NAMES[c.class] },
              {
                key: "precision",
                header: "precision",
                numeric: true,
                cell: (c) => formatPercent(c.precision),
              },
              { key: "recall", header: "recall", numeric: true, cell: (c) => formatPercent(c.recall) },
              { key: "f1", header: "F1", numeric: true, cell: (c) => formatPercent(c.f1) },
              { key: "support", header: "support", numeric: true, cell: (c) => c.support },
            ]}
          />
        </div>
      )}
      {cell && (
        <div className="mt-4" data-testid="misclassified">
          <h3 className="mb-2 text-sm font-semibold text-slate-700">
            {cell[0] === cell[1]
              ? `${CLASS_NAMES[cell[0]]}: correctly classified images are not listed`
              : `${CLASS_NAMES[cell[0]]} predicted as ${CLASS_NAMES[cell[1]]}: ${misclassified.length} image${misclassified.length === 1 ? "" : "s"}${misclassified.length > SHOWN_IMAGES ? ` (first ${SHOWN_IMAGES})` : ""}`}
          </h3>
          <div className="flex flex-wrap gap-3">
            {misclassified.slice(0, SHOWN_IMAGES).map((m) => (
              <figure
                key={m.index}
                className="w-24 text-[10px] text-slate-600"
                data-testid="misclassified-image"
              >
                {/* biome-ignore lint/performance/noImgElement: a 32×32 dataset image, served as PNG by the API */}
                <img
                  src={`/api/dataset/test/${m.index}?scale=3`}
                  alt={`CIFAR-10 test sample ${m.index}: a ${CLASS_NAMES[m.label]}`}
                  width={96}
                  height={96}
                  style={{ imageRendering: "pixelated" }}
                />
                <figcaption>
                  #{m.index}: {CLASS_NAMES[m.predicted]} {formatPercent(m.probabilities[m.predicted])}, true{" "}
                  {CLASS_NAMES[m.label]} {formatPercent(m.probabilities[m.label])}
                </figcaption>
              </figure>
            ))}
          </div>
        </div>
      )}
    </Panel>
  );
}
