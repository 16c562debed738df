"use client";
// One evaluation's report, for the test set and for the user's evaluation sets alike: the
// confusion matrix, per-class precision/recall/F1, and the misclassified images of a clicked
// cell with their top-3 classes.
import { useState } from "react";
import { DataTable } from "@/components/data-table";
import { formatPercent } from "@/lib/format";
import { CLASS_NAMES } from "@/shared/cifar10-classes";
import { topClasses } from "@/shared/evaluation-report";
import type { ClassMetrics, Misclassified } from "@/shared/scoring";
import { ConfusionMatrix, type Matrix } from "./confusion-matrix";

const SHOWN_IMAGES = 48;

export function EvaluationReport<M extends Misclassified>({
  matrix,
  perClass,
  misclassified,
  image,
}: {
  matrix: Matrix;
  perClass: ClassMetrics[];
  misclassified: M[];
  /** Where a misclassified image is shown from, and how it is named. */
  image: (m: M) => { src: string; name: string; pixelated: boolean };
}) {
  const [cell, setCell] = useState<[number, number] | null>(null);
  const shown = misclassified.filter((m) => cell && m.label === cell[0] && m.predicted === cell[1]);
  return (
    <>
      <div className="flex flex-wrap gap-6">
        <ConfusionMatrix matrix={matrix} selected={cell} onSelect={setCell} />
        <DataTable
          size="compact"
          testId="per-class"
          rows={perClass}
          rowKey={(c) => c.class}
          columns={[
            { key: "class", header: "class", cell: (c) => CLASS_NAMES[c.class] },
            { key: "precision", header: "precision", numeric: true, cell: (c) => formatPercent(c.precision) },
            { key: "recall", header: "recall", numeric: true, cell: (c) => formatPercent(c.recall) },
            { key: "f1", header: "F1", numeric: true, cell: (c) => formatPercent(c.f1) },
            { key: "support", header: "support", numeric: true, cell: (c) => c.support },
          ]}
        />
      </div>
      {!cell && misclassified.length > 0 && (
        <p className="mt-2 text-xs text-slate-500">
          Click a cell of the matrix to see its misclassified images.
        </p>
      )}
      {cell && (
        <div className="mt-4" data-testid="misclassified">
          <h3 className="mb-2 text-sm font-semibold text-slate-700">
            {cell[0] === cell[1]
              ? `${CLASS_NAMES[cell[0]]}: correctly classified images are not listed`
              : `${CLASS_NAMES[cell[0]]} predicted as ${CLASS_NAMES[cell[1]]}: ${shown.length} image${shown.length === 1 ? "" : "s"}${shown.length > SHOWN_IMAGES ? ` (first ${SHOWN_IMAGES})` : ""}`}
          </h3>
          <div className="flex flex-wrap gap-3">
            {shown.slice(0, SHOWN_IMAGES).map((m) => {
              const { src, name, pixelated } = image(m);
              return (
                <figure
                  key={m.index}
                  className="w-28 text-[10px] text-slate-600"
                  data-testid="misclassified-image"
                >
                  {/* biome-ignore lint/performance/noImgElement: small images served by the API */}
                  <img
                    src={src}
                    alt={`${name}: a ${CLASS_NAMES[m.label]}`}
                    width={96}
                    height={96}
                    className="h-24 w-24 object-contain"
                    style={pixelated ? { imageRendering: "pixelated" } : undefined}
                  />
                  <figcaption>
                    <div className="truncate" title={name}>
                      {name}, true {CLASS_NAMES[m.label]}
                    </div>
                    {topClasses(m.probabilities, CLASS_NAMES).map((t) => (
                      <div key={t.label}>
                        {t.label} {formatPercent(t.probability)}
                      </div>
                    ))}
                  </figcaption>
                </figure>
              );
            })}
          </div>
        </div>
      )}
    </>
  );
}
