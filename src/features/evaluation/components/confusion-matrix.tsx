"use client";
// The 10×10 confusion matrix as a heatmap: counts with row-normalised percentages, one click
// per cell. In diff mode it shows B − A, green where B is better (more on the diagonal,
// fewer confusions) and red where it is worse.
import { CLASS_NAMES } from "@/shared/cifar10-classes";

export type Matrix = number[][];

function rowPercent(matrix: Matrix, i: number, j: number): number {
  const total = (matrix[i] ?? []).reduce((a, b) => a + b, 0);
  return total ? ((matrix[i]?.[j] ?? 0) / total) * 100 : 0;
}

function cellStyle(share: number, diagonal: boolean): string {
  // share in [0, 1]; the diagonal is shaded blue, confusions orange.
  const alpha = Math.min(1, share * (diagonal ? 1 : 4));
  const rgb = diagonal ? "37, 99, 235" : "234, 88, 12";
  return `rgba(${rgb}, ${alpha.toFixed(3)})`;
}

function diffStyle(delta: number, diagonal: boolean, scale: number): string {
  if (delta === 0 || scale === 0) return "transparent";
  const better = diagonal ? delta > 0 : delta < 0;
  const alpha = Math.min(1, Math.abs(delta) / scale) * 0.85 + 0.1;
  return better ? `rgba(5, 150, 105, ${alpha.toFixed(3)})` : `rgba(220, 38, 38, ${alpha.toFixed(3)})`;
}

export function ConfusionMatrix({
  matrix,
  base,
  selected,
  onSelect,
  testId = "confusion-matrix",
}: {
  matrix: Matrix;
  /** When given, the heatmap shows matrix − base (a diff view). */
  base?: Matrix;
  selected?: [number, number] | null;
  onSelect?: (cell: [number, number]) => void;
  testId?: string;
}) {
  const deltas = base ? matrix.map((row, i) => row.map((v, j) => v - (base[i]?.[j] ?? 0))) : null;
  const scale = deltas ? Math.max(1, ...deltas.flat().map(Math.abs)) : 0;
  return (
    <div className="overflow-x-auto">
      <table className="border-collapse text-xs" data-testid={testId}>
        <thead>
          <tr>
            <th className="p-1 text-right text-slate-500">true ↓ / predicted →</th>
            {CLASS_NAMES.map((name) => (
              <th key={name} className="w-14 p-1 text-center font-medium text-slate-600">
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrix.map((row, i) => (
            <tr key={CLASS_NAMES[i]}>
              <th className="p-1 pr-2 text-right font-medium text-slate-600">{CLASS_NAMES[i]}</th>
              {row.map((count, j) => {
                const diagonal = i === j;
                const delta = deltas?.[i]?.[j] ?? 0;
                const isSelected = selected?.[0] === i && selected?.[1] === j;
                const percent = rowPercent(matrix, i, j);
                return (
                  <td key={CLASS_NAMES[j]} className="p-0">
                    <button
                      type="button"
                      data-cell={`${i}-${j}`}
                      title={
                        deltas
                          ? `${CLASS_NAMES[i]} → ${CLASS_NAMES[j]}: ${delta >= 0 ? "+" : ""}${delta} (${base?.[i]?.[j]} → ${count})`
                          : `${CLASS_NAMES[i]} predicted as ${CLASS_NAMES[j]}: ${count} (${percent.toFixed(1)}% of ${CLASS_NAMES[i]})`
                      }
                      onClick={() => onSelect?.([i, j])}
                      className={`flex h-12 w-14 flex-col items-center justify-center border border-white ${isSelected ? "ring-2 ring-slate-900" : ""}`}
                      style={{
                        background: deltas
                          ? diffStyle(delta, diagonal, scale)
                          : cellStyle(percent / 100, diagonal),
                      }}
                    >
                      {deltas ? (
                        <span className="font-semibold tabular-nums">{delta > 0 ? `+${delta}` : delta}</span>
                      ) : (
                        <>
                          <span className="font-semibold tabular-nums">{count}</span>
                          <span className="tabular-nums text-[10px] opacity-80">{percent.toFixed(1)}%</span>
                        </>
                      )}
                    </button>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
