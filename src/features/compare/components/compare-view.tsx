"use client";
// Any set of runs, across experiments: overlaid curves with smoothing, seed groups as mean ±
// 95% CI bands, the parameter table with differences highlighted, best and last values, a
// significance test between two groups, and a confusion-matrix diff for two runs.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import { buttonClass, ErrorNote, Loading, Panel } from "@/components/ui";
import { type ChartBand, type ChartSeries, MetricChart } from "@/features/charts/metric-chart";
import { colorAt } from "@/features/charts/palette";
import { StatusBadge } from "@/features/experiments/components/status-badge";
import { formatNumber, formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { EPOCH_METRIC_KEYS as K } from "@/shared/metrics";
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

function ciText(ci: { mean: number; lo: number; hi: number; n: number } | null) {
  if (!ci) return "—";
  return ci.n < 2
    ? `${formatPercent(ci.mean, 2)} (1 run)`
    : `${formatPercent(ci.mean, 2)} ± ${((ci.hi - ci.mean) * 100).toFixed(2)} (n=${ci.n})`;
}

export function CompareView({ runIds }: { runIds: number[] }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [smoothing, setSmoothing] = useState(0);
  const [grouped, setGrouped] = useState<boolean | null>(null);
  const [onlyDiffs, setOnlyDiffs] = useState(false);
  const [adding, setAdding] = useState("");
  const enabled = runIds.length > 0;
  const compare = useQuery({
    ...trpc.compare.runs.queryOptions({ runIds: enabled ? runIds : [1] }),
    enabled,
  });
  const history = useQuery({
    ...trpc.metric.history.queryOptions({ runIds: enabled ? runIds : [1], keys: KEYS, maxPoints: 500 }),
    enabled,
  });
  const groups = compare.data?.groups ?? [];
  const canGroup = groups.some((g) => g.runIds.length > 1);
  const showGroups = (grouped ?? canGroup) && canGroup;
  const bands = useQuery({
    ...trpc.compare.bands.queryOptions({ runIds: enabled ? runIds : [1], keys: KEYS, maxPoints: 500 }),
    enabled: enabled && showGroups,
  });

  const setRuns = (ids: number[]) =>
    router.replace(ids.length ? `/compare?runs=${ids.join(",")}` : "/compare");
  const colorOfRun = useMemo(() => new Map(runIds.map((id, i) => [id, colorAt(i)])), [runIds]);
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

  return (
    <section className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">Compare {runs.length} runs</h1>
        <form
          className="ml-auto flex items-center gap-2 text-sm"
          onSubmit={(e) => {
            e.preventDefault();
            const id = Number(adding);
            if (Number.isInteger(id) && id > 0 && !runIds.includes(id)) setRuns([...runIds, id]);
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
              onClick={() => setRuns(runIds.filter((id) => id !== r.id))}
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
      </div>

      <Panel title="Best and last values">
        <div className="overflow-x-auto">
          <table className="w-full text-sm" data-testid="compare-values">
            <thead className="text-left text-xs uppercase text-slate-500">
              <tr>
                <th className="py-1">run</th>
                <th className="py-1 text-right">epochs</th>
                <th className="py-1 text-right">best val acc (epoch)</th>
                <th className="py-1 text-right">last val acc</th>
                <th className="py-1 text-right">best val loss</th>
                <th className="py-1 text-right">last val loss</th>
                <th className="py-1 text-right">test acc</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => {
                const best = Math.max(...runs.map((x) => x.testAccuracy ?? -1));
                return (
                  <tr key={r.id} className="border-t border-slate-100">
                    <td className="py-1">
                      <span
                        className="mr-2 inline-block h-2 w-2 rounded-full"
                        style={{ background: colorOfRun.get(r.id) }}
                      />
                      #{r.id} {r.name}
                    </td>
                    <td className="py-1 text-right tabular-nums">{r.epochsDone}</td>
                    <td className="py-1 text-right tabular-nums">
                      {formatPercent(r.bestValAccuracy, 2)}
                      {r.bestEpoch ? ` (${r.bestEpoch})` : ""}
                    </td>
                    <td className="py-1 text-right tabular-nums">{formatPercent(r.lastValAccuracy, 2)}</td>
                    <td className="py-1 text-right tabular-nums">{formatNumber(r.bestValLoss)}</td>
                    <td className="py-1 text-right tabular-nums">{formatNumber(r.lastValLoss)}</td>
                    <td
                      className={`py-1 text-right tabular-nums ${r.testAccuracy !== null && r.testAccuracy === best ? "font-semibold text-emerald-700" : ""}`}
                    >
                      {formatPercent(r.testAccuracy, 2)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </Panel>

      {groups.length > 1 && (
        <Panel title="Groups and significance" testId="significance">
          <table className="mb-3 w-full text-sm">
            <thead className="text-left text-xs uppercase text-slate-500">
              <tr>
                <th className="py-1">group (what differs)</th>
                <th className="py-1 text-right">runs</th>
                <th className="py-1 text-right">test acc, mean ± 95% CI</th>
                <th className="py-1 text-right">best val acc, mean ± 95% CI</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.groupKey} className="border-t border-slate-100">
                  <td className="py-1">
                    <span
                      className="mr-2 inline-block h-2 w-2 rounded-full"
                      style={{ background: colorOfGroup.get(g.groupKey) }}
                    />
                    {g.label}
                  </td>
                  <td className="py-1 text-right">{g.runIds.length}</td>
                  <td className="py-1 text-right tabular-nums">{ciText(g.testAccuracy)}</td>
                  <td className="py-1 text-right tabular-nums">{ciText(g.bestValAccuracy)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {significance.result ? (
            <div className="space-y-1 text-sm">
              <p className="text-slate-800" data-testid="significance-summary">
                {significance.summary}
              </p>
              <p className="text-xs text-slate-500">
                t = {significance.result.t.toFixed(3)}, df = {significance.result.df.toFixed(1)}, p ={" "}
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
          <table className="w-full text-xs" data-testid="param-table">
            <thead className="text-left text-slate-500">
              <tr>
                <th className="py-1">parameter</th>
                {runs.map((r) => (
                  <th key={r.id} className="py-1">
                    #{r.id}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shownParams.map((p) => (
                <tr
                  key={p.param}
                  className={`border-t border-slate-100 ${p.differs ? "bg-amber-50 font-medium" : ""}`}
                  data-differs={p.differs}
                >
                  <td className="py-1 pr-3">{p.param}</td>
                  {p.values.map((v, i) => (
                    <td key={runs[i]?.id} className="py-1 pr-3 font-mono">
                      {v}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Panel>

      {runs.length === 2 && runs[0] && runs[1] && <ConfusionDiff runA={runs[0]} runB={runs[1]} />}
    </section>
  );
}
