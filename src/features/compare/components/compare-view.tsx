"use client";
// Any set of runs, across experiments: overlaid curves with smoothing, seed groups as mean ±
// 95% CI bands, the parameter table with differences highlighted, best and last values, a
// significance test between two groups, and a confusion-matrix diff for two runs.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useMemo, useState } from "react";
import { DataTable } from "@/components/data-table";
import { buttonClass, ErrorNote, Loading, Panel } from "@/components/ui";
import { type ChartBand, type ChartSeries, MetricChart } from "@/features/charts/metric-chart";
import { colorAt } from "@/features/charts/palette";
import { StatusBadge } from "@/features/experiments/components/status-badge";
import { formatNumber, formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { EPOCH_METRIC_KEYS as K } from "@/shared/metrics";
import { compareHref, parseRunIds } from "../compare-url";
import { ConfusionDiff } from "./confusion-diff";

const CHARTS = [
  { key: K.valAccuracy, title: "Validation accuracy" },
  { key: K.valLoss, title: "Validation loss" },
  { key: K.accuracy, title: "Train accuracy" },
  { key: K.loss, title: "Train loss" },
  { key: K.lr, title: "Learning rate", log: true },
  { key: K.epochSeconds, title: "Epoch time (s)" },
];
const KEYS = CHARTS.map((c) => c.key);

/** The colour a run or group has in the charts, before its name in a table. */
function Swatch({ color }: { color: string | undefined }) {
  return <span className="mr-2 inline-block h-2 w-2 rounded-full" style={{ background: color }} />;
}

function ciText(ci: { mean: number; lo: number; hi: number; n: number } | null) {
  if (!ci) return "—";
  return ci.n < 2
    ? `${formatPercent(ci.mean, 2)} (1 run)`
    : `${formatPercent(ci.mean, 2)} ± ${((ci.hi - ci.mean) * 100).toFixed(2)} (n=${ci.n})`;
}

/**
 * Edits the selection in the address bar at once (Next.js syncs `useSearchParams` with
 * `history.replaceState`), so that two quick clicks compose; a router navigation would leave the
 * second click acting on the ids from before the first.
 */
function editRunIds(edit: (ids: number[]) => number[]) {
  const ids = edit(parseRunIds(new URLSearchParams(window.location.search).get("runs")));
  window.history.replaceState(null, "", compareHref(ids));
}

export function CompareView() {
  const trpc = useTRPC();
  const runIds = parseRunIds(useSearchParams().get("runs"));
  const [smoothing, setSmoothing] = useState(0);
  const [grouped, setGrouped] = useState<boolean | null>(null);
  const [onlyDiffs, setOnlyDiffs] = useState(false);
  const [adding, setAdding] = useState("");
  /** Keys beyond the fixed charts (runs from the user's own code log any), chosen by the user. */
  const [extraKeys, setExtraKeys] = useState<string[]>([]);
  const enabled = runIds.length > 0;
  const compare = useQuery({
    ...trpc.compare.runs.queryOptions({ runIds: enabled ? runIds : [1] }),
    enabled,
    placeholderData: keepPreviousData,
  });
  const loggedKeys = useQuery({
    ...trpc.metric.keys.queryOptions({ runIds: enabled ? runIds : [1] }),
    enabled,
  });
  const otherKeys = (loggedKeys.data ?? []).filter((key) => !KEYS.includes(key as (typeof KEYS)[number]));
  const history = useQuery({
    ...trpc.metric.history.queryOptions({
      runIds: enabled ? runIds : [1],
      keys: [...KEYS, ...extraKeys],
      maxPoints: 500,
    }),
    enabled,
    placeholderData: keepPreviousData,
  });
  const groups = compare.data?.groups ?? [];
  const canGroup = groups.some((g) => g.runIds.length > 1);
  const showGroups = (grouped ?? canGroup) && canGroup;
  const bands = useQuery({
    ...trpc.compare.bands.queryOptions({ runIds: enabled ? runIds : [1], keys: KEYS, maxPoints: 500 }),
    enabled: enabled && showGroups,
  });

  const colorOfRun = new Map(runIds.map((id, i) => [id, colorAt(i)]));
  const colorOfGroup = useMemo(() => new Map(groups.map((g, i) => [g.groupKey, colorAt(i)])), [groups]);

  if (!enabled)
    return (
      <section className="space-y-3">
        <h1 className="text-2xl font-semibold">Compare runs</h1>
        <p className="text-slate-600">
          Select runs on an experiment&apos;s page and press Compare, or open /compare?runs=1,2,3.
        </p>
      </section>
    );
  if (compare.error) return <ErrorNote error={compare.error} />;
  if (!compare.data) return <Loading />;
  const { runs, params, significance } = compare.data;
  // Grouped, a run draws its own line only when it is alone in its group (in the group's colour).
  const lineRuns = showGroups
    ? runs.filter((r) => groups.find((g) => g.groupKey === r.groupKey)?.runIds.length === 1)
    : runs;
  const seriesOf = (key: string): ChartSeries[] =>
    lineRuns.map((r) => ({
      id: `run-${r.id}`,
      label: `#${r.id} ${r.name}`,
      color: (showGroups ? colorOfGroup.get(r.groupKey) : colorOfRun.get(r.id)) ?? "#000",
      points: history.data?.find((s) => s.runId === r.id && s.key === key)?.points ?? [],
    }));
  const bandsOf = (key: string): ChartBand[] =>
    showGroups
      ? groups
          .filter((g) => g.runIds.length > 1)
          .map((g) => ({
            id: `group-${g.groupKey}`,
            label: `${g.label} (${g.runIds.length} seeds)`,
            color: colorOfGroup.get(g.groupKey) ?? "#000",
            points: bands.data?.find((b) => b.groupKey === g.groupKey && b.key === key)?.points ?? [],
          }))
      : [];
  const shownParams = onlyDiffs ? params.filter((p) => p.differs) : params;
  const bestTest = Math.max(...runs.map((x) => x.testAccuracy ?? -1));

  return (
    <section className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">Compare {runs.length} runs</h1>
        <form
          className="ml-auto flex items-center gap-2 text-sm"
          onSubmit={(e) => {
            e.preventDefault();
            const id = Number(adding);
            if (Number.isInteger(id) && id > 0) editRunIds((ids) => (ids.includes(id) ? ids : [...ids, id]));
            setAdding("");
          }}
        >
          <input
            aria-label="Add run by id"
            placeholder="run #"
            value={adding}
            onChange={(e) => setAdding(e.target.value)}
            className="w-20 rounded border border-slate-300 px-2 py-1"
          />
          <button type="submit" className={buttonClass.secondary}>
            Add
          </button>
        </form>
      </div>
      <div className="flex flex-wrap gap-2">
        {runs.map((r) => (
          <span
            key={r.id}
            className="inline-flex items-center gap-2 rounded border border-slate-200 bg-white px-2 py-1 text-sm"
          >
            <span className="h-3 w-3 rounded-full" style={{ background: colorOfRun.get(r.id) }} />
            <Link href={`/runs/${r.id}`} className="hover:underline">
              #{r.id} {r.name}
            </Link>
            <span className="text-xs text-slate-400">{r.experiment.name}</span>
            <StatusBadge status={r.status} />
            <button
              type="button"
              aria-label={`Remove run ${r.id}`}
              className="text-slate-400 hover:text-red-600"
              onClick={() => editRunIds((ids) => ids.filter((id) => id !== r.id))}
            >
              ×
            </button>
          </span>
        ))}
      </div>

      <div className="flex flex-wrap items-center gap-6 text-sm">
        <label className="flex items-center gap-2">
          Smoothing
          <input
            type="range"
            aria-label="Smoothing"
            min={0}
            max={0.95}
            step={0.05}
            value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))}
          />
          <span className="w-8 tabular-nums">{smoothing.toFixed(2)}</span>
        </label>
        <label className={`flex items-center gap-2 ${canGroup ? "" : "text-slate-400"}`}>
          <input
            type="checkbox"
            disabled={!canGroup}
            checked={showGroups}
            onChange={(e) => setGrouped(e.target.checked)}
          />
          Group seeds (mean ± 95% CI)
        </label>
        {otherKeys.length > 0 && (
          <label className="flex items-center gap-2">
            More metrics
            <select
              className="rounded border border-slate-300 px-2 py-1"
              aria-label="Chart another metric"
              value=""
              onChange={(e) => {
                const key = e.target.value;
                if (key) setExtraKeys((keys) => (keys.includes(key) ? keys : [...keys, key].slice(-8)));
              }}
            >
              <option value="">add a chart…</option>
              {otherKeys
                .filter((key) => !extraKeys.includes(key))
                .map((key) => (
                  <option key={key} value={key}>
                    {key}
                  </option>
                ))}
            </select>
          </label>
        )}
      </div>
      <ErrorNote error={history.error ?? bands.error} />
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3" data-testid="compare-charts">
        {CHARTS.map((c) => (
          <MetricChart
            key={c.key}
            title={c.title}
            series={seriesOf(c.key)}
            bands={bandsOf(c.key)}
            smoothing={c.log ? 0 : smoothing}
            logScale={c.log}
            testId={`compare-chart-${c.key}`}
          />
        ))}
        {extraKeys.map((key) => (
          <MetricChart
            key={key}
            title={key}
            series={seriesOf(key)}
            smoothing={smoothing}
            testId={`compare-chart-${key}`}
          />
        ))}
      </div>

      <Panel title="Best and last values">
        <div className="overflow-x-auto">
          <DataTable
            size="compact"
            testId="compare-values"
            rows={runs}
            rowKey={(r) => r.id}
            columns={[
              {
                key: "run",
                header: "run",
                cell: (r) => (
                  <>
                    <Swatch color={colorOfRun.get(r.id)} />#{r.id} {r.name}
                  </>
                ),
              },
              { key: "epochs", header: "epochs", numeric: true, cell: (r) => r.epochsDone },
              {
                key: "best-val-acc",
                header: "best val acc (epoch)",
                numeric: true,
                cell: (r) =>
                  `${formatPercent(r.bestValAccuracy, 2)}${r.bestEpoch ? ` (${r.bestEpoch})` : ""}`,
              },
              {
                key: "last-val-acc",
                header: "last val acc",
                numeric: true,
                cell: (r) => formatPercent(r.lastValAccuracy, 2),
              },
              {
                key: "best-val-loss",
                header: "best val loss",
                numeric: true,
                cell: (r) => formatNumber(r.bestValLoss),
              },
              {
                key: "last-val-loss",
                header: "last val loss",
                numeric: true,
                cell: (r) => formatNumber(r.lastValLoss),
              },
              {
                key: "test-acc",
                header: "test acc",
                numeric: true,
                cell: (r) => (
                  <span
                    className={
                      r.testAccuracy !== null && r.testAccuracy === bestTest
                        ? "font-semibold text-emerald-700"
                        : ""
                    }
                  >
                    {formatPercent(r.testAccuracy, 2)}
                  </span>
                ),
              },
            ]}
          />
        </div>
      </Panel>

      {groups.length > 1 && (
        <Panel title="Groups and significance" testId="significance">
          <div className="mb-3">
            <DataTable
              size="compact"
              rows={groups}
              rowKey={(g) => g.groupKey}
              columns={[
                {
                  key: "group",
                  header: "group (what differs)",
                  cell: (g) => (
                    <>
                      <Swatch color={colorOfGroup.get(g.groupKey)} />
                      {g.label}
                    </>
                  ),
                },
                { key: "runs", header: "runs", numeric: true, cell: (g) => g.runIds.length },
                {
                  key: "test",
                  header: "test acc, mean ± 95% CI",
                  numeric: true,
                  cell: (g) => ciText(g.testAccuracy),
                },
                {
                  key: "best",
                  header: "best val acc, mean ± 95% CI",
                  numeric: true,
                  cell: (g) => ciText(g.bestValAccuracy),
                },
              ]}
            />
          </div>
          {significance.result ? (
            <div className="space-y-1 text-sm">
              <p className="text-slate-800" data-testid="significance-summary">
                {significance.summary}
              </p>
              <p className="text-xs text-slate-500">
                t = {significance.result.t === null ? "∞" : significance.result.t.toFixed(3)}, df ={" "}
                {significance.result.df.toFixed(1)}, p ={" "}
                <span data-testid="p-value">{significance.result.p.toPrecision(3)}</span>, Hedges&apos; g ={" "}
                {significance.result.hedgesG.toFixed(2)}
              </p>
            </div>
          ) : (
            <p className="text-sm text-slate-500">{significance.reason}</p>
          )}
        </Panel>
      )}

      <Panel
        title="Parameters"
        actions={
          <label className="flex items-center gap-1 text-xs text-slate-600">
            <input type="checkbox" checked={onlyDiffs} onChange={(e) => setOnlyDiffs(e.target.checked)} />
            Only differences
          </label>
        }
      >
        <div className="overflow-x-auto">
          <DataTable
            size="compact"
            testId="param-table"
            rows={shownParams}
            rowKey={(p) => p.param}
            rowProps={(p) => ({
              className: p.differs ? "bg-amber-50 font-medium" : "",
              "data-differs": p.differs,
            })}
            columns={[
              { key: "param", header: "parameter", cell: (p) => p.param },
              ...runs.map((r, i) => ({
                key: `run-${r.id}`,
                header: `#${r.id}`,
                className: "font-mono",
                cell: (p: (typeof shownParams)[number]) => p.values[i],
              })),
            ]}
          />
        </div>
      </Panel>

      {runs.length === 2 && runs[0] && runs[1] && <ConfusionDiff runA={runs[0]} runB={runs[1]} />}
    </section>
  );
}
