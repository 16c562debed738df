"use client";
// Filters for a runs table: every typed hyperparameter (ranges, normalisation, augmentation,
// dropout schedule) and status, as the run.list API takes them.
import type { RunListInput } from "@/shared/experiments";
import { RUN_RANGE_FILTERS } from "@/shared/experiments";
import { NORMALIZATIONS } from "@/shared/hyperparams";
import { RUN_STATUSES } from "@/shared/run-status";
import { StatusBadge } from "./status-badge";

export type RunFilters = Pick<
  RunListInput,
  "status" | "normalization" | "augmentation" | "dropout" | (typeof RUN_RANGE_FILTERS)[number]
>;

const RANGE_LABELS: Record<(typeof RUN_RANGE_FILTERS)[number], string> = {
  learningRate: "Learning rate",
  batchSize: "Batch size",
  epochs: "Max epochs",
  seed: "Seed",
  l2: "L2",
  lrPlateauPatience: "LR patience",
  lrPlateauFactor: "LR factor",
  lrPlateauMin: "Min LR",
  earlyStoppingPatience: "Early-stop patience",
};

function toggle<T>(list: T[] | undefined, value: T, on: boolean): T[] | undefined {
  const next = on ? [...(list ?? []), value] : (list ?? []).filter((v) => v !== value);
  return next.length ? next : undefined;
}

function parseBound(text: string): number | undefined {
  if (text.trim() === "") return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

export function RunFiltersPanel({
  filters,
  onChange,
}: {
  filters: RunFilters;
  onChange: (next: RunFilters) => void;
}) {
  return (
    <div className="space-y-3 rounded border border-slate-200 bg-white p-3 text-sm" data-testid="run-filters">
      <div className="flex flex-wrap items-center gap-3">
        <span className="text-slate-600">Status</span>
        {RUN_STATUSES.map((s) => (
          <label key={s} className="flex items-center gap-1">
            <input
              type="checkbox"
              checked={filters.status?.includes(s) ?? false}
              onChange={(e) => onChange({ ...filters, status: toggle(filters.status, s, e.target.checked) })}
            />
            <StatusBadge status={s} />
          </label>
        ))}
        <span className="ml-4 text-slate-600">Normalization</span>
        {NORMALIZATIONS.map((n) => (
          <label key={n} className="flex items-center gap-1">
            <input
              type="checkbox"
              checked={filters.normalization?.includes(n) ?? false}
              onChange={(e) =>
                onChange({ ...filters, normalization: toggle(filters.normalization, n, e.target.checked) })
              }
            />
            {n}
          </label>
        ))}
        <label className="ml-4 flex items-center gap-1">
          <span className="text-slate-600">Augmentation</span>
          <select
            aria-label="Augmentation filter"
            className="rounded border border-slate-300 px-1 py-0.5"
            value={filters.augmentation === undefined ? "any" : String(filters.augmentation)}
            onChange={(e) =>
              onChange({
                ...filters,
                augmentation: e.target.value === "any" ? undefined : e.target.value === "true",
              })
            }
          >
            <option value="any">any</option>
            <option value="true">on</option>
            <option value="false">off</option>
          </select>
        </label>
        <label className="flex items-center gap-1">
          <span className="text-slate-600">Dropout</span>
          <input
            aria-label="Dropout filter"
            placeholder="0.2, 0.3, 0.4, 0.5"
            className="w-36 rounded border border-slate-300 px-1 py-0.5"
            defaultValue={filters.dropout?.join(", ") ?? ""}
            onBlur={(e) => {
              const rates = e.target.value
                .split(",")
                .map((v) => v.trim())
                .filter(Boolean)
                .map(Number);
              onChange({
                ...filters,
                dropout: rates.length === 4 && rates.every((r) => r >= 0 && r < 1) ? rates : undefined,
              });
            }}
          />
        </label>
      </div>
      <div className="grid grid-cols-2 gap-x-4 gap-y-2 md:grid-cols-3 lg:grid-cols-5">
        {RUN_RANGE_FILTERS.map((key) => (
          <div key={key} className="flex items-center gap-1">
            <span className="w-28 truncate text-slate-600">{RANGE_LABELS[key]}</span>
            {(["gte", "lte"] as const).map((bound) => (
              <input
                key={bound}
                aria-label={`${RANGE_LABELS[key]} ${bound === "gte" ? "min" : "max"}`}
                placeholder={bound === "gte" ? "min" : "max"}
                inputMode="decimal"
                className="w-16 rounded border border-slate-300 px-1 py-0.5"
                defaultValue={filters[key]?.[bound] ?? ""}
                onBlur={(e) => {
                  const range = { ...filters[key], [bound]: parseBound(e.target.value) };
                  const empty = range.gte === undefined && range.lte === undefined;
                  onChange({ ...filters, [key]: empty ? undefined : range });
                }}
              />
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}
