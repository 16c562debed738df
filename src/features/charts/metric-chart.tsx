"use client";
// One metric over epochs: any number of runs as lines (smoothed on request, with the raw
// curve faint behind), and seed groups as mean lines inside their 95% CI band.
import { useMemo, useState } from "react";
import {
  Area,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { smooth } from "./smoothing";

export interface ChartSeries {
  id: string;
  label: string;
  color: string;
  points: { step: number; value: number }[];
  dashed?: boolean;
  /** This series' own smoothing (e.g. noisy batch-level values), instead of the chart's. */
  smoothing?: number;
  /** Drawn thin and light, behind the others. */
  faint?: boolean;
}

export interface ChartBand {
  id: string;
  label: string;
  color: string;
  points: { step: number; mean: number; lo: number; hi: number }[];
}

type Row = Record<string, number | [number, number] | undefined> & { step: number };

function mergeRows(series: ChartSeries[], bands: ChartBand[], smoothing: number): Row[] {
  const rows = new Map<number, Row>();
  const row = (step: number) => {
    let r = rows.get(step);
    if (!r) {
      r = { step };
      rows.set(step, r);
    }
    return r;
  };
  for (const s of series) {
    const weight = s.smoothing ?? smoothing;
    const smoothed = smooth(
      s.points.map((p) => p.value),
      weight,
    );
    s.points.forEach((p, i) => {
      const r = row(p.step);
      r[s.id] = smoothed[i];
      if (smoothing > 0 && s.smoothing === undefined) r[`${s.id}__raw`] = p.value;
    });
  }
  for (const b of bands) {
    const means = smooth(
      b.points.map((p) => p.mean),
      smoothing,
    );
    b.points.forEach((p, i) => {
      const r = row(p.step);
      r[b.id] = means[i];
      r[`${b.id}__band`] = [p.lo, p.hi];
    });
  }
  return [...rows.values()].sort((a, b) => a.step - b.step);
}

const format = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Number(v.toPrecision(4)).toString());

export function MetricChart({
  title,
  series,
  bands = [],
  smoothing = 0,
  logScale = false,
  height = 240,
  testId,
}: {
  title: string;
  series: ChartSeries[];
  bands?: ChartBand[];
  smoothing?: number;
  logScale?: boolean;
  height?: number;
  testId?: string;
}) {
  const rows = useMemo(() => mergeRows(series, bands, smoothing), [series, bands, smoothing]);
  const empty = rows.length === 0;
  // One early spike (a validation loss of 150 in a high-learning-rate warm-up) flattens the rest
  // of a linear axis; a log axis keeps it readable, and needs every value positive.
  const positive = useMemo(
    () =>
      series.every((s) => s.points.every((p) => p.value > 0)) &&
      bands.every((b) => b.points.every((p) => p.lo > 0)),
    [series, bands],
  );
  const [logChosen, setLogChosen] = useState(logScale);
  const log = logChosen && positive;
  return (
    <figure className="rounded border border-slate-200 bg-white p-3" data-testid={testId}>
      <figcaption className="mb-1 flex items-center justify-between text-xs font-semibold text-slate-600">
        <span>{title}</span>
        {!empty && positive && (
          <button
            type="button"
            aria-pressed={log}
            title="Logarithmic y axis"
            onClick={() => setLogChosen(!log)}
            className={`rounded border px-1.5 font-normal ${log ? "border-slate-500 bg-slate-100 text-slate-800" : "border-slate-200 text-slate-500 hover:text-slate-800"}`}
          >
            log y
          </button>
        )}
      </figcaption>
      {empty ? (
        <div className="flex items-center justify-center text-sm text-slate-400" style={{ height }}>
          No points yet
        </div>
      ) : (
        <ResponsiveContainer width="100%" height={height}>
          <ComposedChart data={rows} margin={{ top: 4, right: 12, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#e2e8f0" strokeDasharray="3 3" />
            <XAxis
              dataKey="step"
              type="number"
              domain={["dataMin", "dataMax"]}
              tick={{ fontSize: 11 }}
              allowDecimals={false}
            />
            <YAxis
              tick={{ fontSize: 11 }}
              width={56}
              scale={log ? "log" : "auto"}
              domain={["auto", "auto"]}
              tickFormatter={format}
              allowDataOverflow={log}
            />
            <Tooltip
              formatter={(value) =>
                Array.isArray(value) ? value.map((v) => format(Number(v))).join(" – ") : format(Number(value))
              }
              labelFormatter={(step) => `epoch ${format(Number(step))}`}
              contentStyle={{ fontSize: 12 }}
            />
            <Legend wrapperStyle={{ fontSize: 11 }} />
            {bands.map((b) => (
              <Area
                key={`${b.id}__band`}
                dataKey={`${b.id}__band`}
                stroke="none"
                fill={b.color}
                fillOpacity={0.15}
                isAnimationActive={false}
                legendType="none"
                name={`${b.label} 95% CI`}
                connectNulls
              />
            ))}
            {bands.map((b) => (
              <Line
                key={b.id}
                dataKey={b.id}
                name={`${b.label} (mean)`}
                stroke={b.color}
                strokeWidth={2}
                dot={false}
                isAnimationActive={false}
                connectNulls
              />
            ))}
            {smoothing > 0 &&
              series
                .filter((s) => s.smoothing === undefined)
                .map((s) => (
                  <Line
                    key={`${s.id}__raw`}
                    dataKey={`${s.id}__raw`}
                    stroke={s.color}
                    strokeOpacity={0.2}
                    dot={false}
                    isAnimationActive={false}
                    legendType="none"
                    connectNulls
                  />
                ))}
            {series.map((s) => (
              <Line
                key={s.id}
                dataKey={s.id}
                name={s.label}
                stroke={s.color}
                strokeOpacity={s.faint ? 0.45 : 1}
                strokeDasharray={s.dashed ? "5 3" : undefined}
                strokeWidth={s.faint ? 1 : 1.5}
                dot={!s.faint && s.points.length < 30 ? { r: 2 } : false}
                isAnimationActive={false}
                connectNulls
              />
            ))}
          </ComposedChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
