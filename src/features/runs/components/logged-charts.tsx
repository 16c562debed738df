"use client";
// Curves for whatever keys a run logged (runs from the user's own code, through MLflow's API):
// one chart per metric, with its validation twin ("loss" and "val_loss") drawn beside it.
import { useQuery } from "@tanstack/react-query";
import { type ChartSeries, MetricChart } from "@/features/charts/metric-chart";
import { useTRPC } from "@/lib/trpc";

/** At most this many keys are charted (the history API's limit per request). */
const MAX_KEYS = 50;
const PALETTE = ["#4f46e5", "#dc2626", "#059669", "#d97706", "#0891b2", "#9333ea"];

/** "val_loss" and "validation/loss" chart with "loss". */
export function chartGroupOf(key: string): string {
  return key.replace(/^(val|valid|validation|test|eval)[_/]/, "").replace(/^(train|training)[_/]/, "");
}

export function LoggedCharts({ runId, live }: { runId: number; live: boolean }) {
  const trpc = useTRPC();
  const keys = useQuery({
    ...trpc.metric.keys.queryOptions({ runIds: [runId] }),
    refetchInterval: live ? 5_000 : false,
  });
  const charted = (keys.data ?? []).slice(0, MAX_KEYS);
  const history = useQuery({
    ...trpc.metric.history.queryOptions({ runIds: [runId], keys: charted, maxPoints: 500 }),
    enabled: charted.length > 0,
    refetchInterval: live ? 2_000 : false,
  });
  if (!charted.length) return <p className="text-sm text-slate-500">No metrics logged yet.</p>;
  const groups = new Map<string, string[]>();
  for (const key of charted) groups.set(chartGroupOf(key), [...(groups.get(chartGroupOf(key)) ?? []), key]);
  const byKey = new Map((history.data ?? []).map((s) => [s.key, s.points]));
  return (
    <div className="space-y-2">
      {(keys.data?.length ?? 0) > MAX_KEYS && (
        <p className="text-xs text-slate-500">
          The first {MAX_KEYS} of {keys.data?.length} keys are charted; the metrics CSV has them all.
        </p>
      )}
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3" data-testid="run-charts">
        {[...groups.entries()].map(([group, members]) => {
          const series: ChartSeries[] = members.map((key, i) => ({
            id: key,
            label: key,
            color: PALETTE[i % PALETTE.length] as string,
            dashed: key !== group,
            points: byKey.get(key) ?? [],
          }));
          return (
            <MetricChart key={group} title={group} series={series} height={200} testId={`chart-${group}`} />
          );
        })}
      </div>
    </div>
  );
}
