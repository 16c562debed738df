"use client";
// A run's curves, refreshed while it trains: loss and accuracy (train and val, with the
// batch-level values smoothed between epochs), learning rate, epoch time, and the worker's
// system metrics.
import { useQuery } from "@tanstack/react-query";
import { type ChartSeries, MetricChart } from "@/features/charts/metric-chart";
import { useTRPC } from "@/lib/trpc";
import { BATCH_METRIC_KEYS as B, EPOCH_METRIC_KEYS as K } from "@/shared/metrics";

/** Batch-level values are noisy: smoothed as TensorBoard's slider at 0.9 would. */
const BATCH_SMOOTHING = 0.9;

const CHARTS: {
  title: string;
  keys: { key: string; label: string; color: string; dashed?: boolean; batches?: boolean }[];
  log?: boolean;
}[] = [
  {
    title: "Loss",
    keys: [
      { key: B.loss, label: "train (batches)", color: "#818cf8", batches: true },
      { key: K.loss, label: "train", color: "#4f46e5" },
      { key: K.valLoss, label: "validation", color: "#dc2626", dashed: true },
    ],
  },
  {
    title: "Accuracy",
    keys: [
      { key: B.accuracy, label: "train (batches)", color: "#818cf8", batches: true },
      { key: K.accuracy, label: "train", color: "#4f46e5" },
      { key: K.valAccuracy, label: "validation", color: "#dc2626", dashed: true },
    ],
  },
  { title: "Learning rate", keys: [{ key: K.lr, label: "lr", color: "#059669" }], log: true },
  {
    title: "Epoch time (s)",
    keys: [{ key: K.epochSeconds, label: "seconds", color: "#d97706" }],
  },
  { title: "Worker CPU (%)", keys: [{ key: "sys/cpu_percent", label: "cpu %", color: "#0891b2" }] },
  { title: "Worker memory (MB)", keys: [{ key: "sys/memory_mb", label: "RSS MB", color: "#9333ea" }] },
];

const ALL_KEYS = [...CHARTS.flatMap((c) => c.keys.map((k) => k.key)), B.batchesPerEpoch];

export function useRunHistory(runId: number, live: boolean) {
  const trpc = useTRPC();
  return useQuery({
    ...trpc.metric.history.queryOptions({ runIds: [runId], keys: ALL_KEYS, maxPoints: 500 }),
    refetchInterval: live ? 2_000 : false,
  });
}

export function RunCharts({
  history,
}: {
  history: { key: string; points: { step: number; value: number }[] }[];
}) {
  const byKey = new Map(history.map((s) => [s.key, s.points]));
  // Batch n of epoch e is logged at step (e - 1) × batches + n: on the epoch axis, e - 1 + n / batches.
  const batchesPerEpoch = byKey.get(B.batchesPerEpoch)?.[0]?.value;
  const pointsOf = (key: string, batches?: boolean) => {
    const points = byKey.get(key) ?? [];
    if (!batches) return points;
    if (!batchesPerEpoch) return [];
    return points.map((p) => ({ step: p.step / batchesPerEpoch, value: p.value }));
  };
  return (
    <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-3" data-testid="run-charts">
      {CHARTS.map((chart) => {
        const series: ChartSeries[] = chart.keys.map((k) => ({
          id: k.key,
          label: k.label,
          color: k.color,
          dashed: k.dashed,
          points: pointsOf(k.key, k.batches),
          ...(k.batches ? { smoothing: BATCH_SMOOTHING, faint: true } : {}),
        }));
        return (
          <MetricChart
            key={chart.title}
            title={chart.title}
            series={series}
            logScale={chart.log}
            height={200}
            testId={`chart-${chart.title}`}
          />
        );
      })}
    </div>
  );
}
