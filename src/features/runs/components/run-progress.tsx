"use client";
// The current epoch's progress bar and the time left, from the worker's last heartbeat.
import { formatDuration } from "@/lib/format";

export interface Progress {
  epoch: number;
  batch: number;
  batches: number;
  imagesPerSecond: number;
  at: string;
}

/** Seconds left if the run trains all its epochs (early stopping may end it sooner). */
export function etaSeconds(progress: Progress, epochs: number, epochSeconds: number[]): number | null {
  const recent = epochSeconds.slice(-5);
  const perEpoch = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null;
  if (perEpoch === null) return null;
  const leftInEpoch = (1 - progress.batch / progress.batches) * perEpoch;
  return leftInEpoch + Math.max(0, epochs - progress.epoch) * perEpoch;
}

export function RunProgress({
  progress,
  epochs,
  epochSeconds,
}: {
  progress: Progress;
  epochs: number;
  epochSeconds: number[];
}) {
  const share = progress.batches ? progress.batch / progress.batches : 0;
  const eta = etaSeconds(progress, epochs, epochSeconds);
  return (
    <div className="space-y-1" data-testid="run-progress">
      <div className="flex justify-between text-xs text-slate-600">
        <span>
          Epoch {progress.epoch}/{epochs}: batch {progress.batch}/{progress.batches} ·{" "}
          {progress.imagesPerSecond.toFixed(1)} img/s
        </span>
        <span data-testid="run-eta">
          {eta === null
            ? "ETA after the first epoch"
            : `ETA ${formatDuration(eta)} (at most; early stopping may end it sooner)`}
        </span>
      </div>
      <div className="h-2 overflow-hidden rounded bg-slate-200">
        <div
          className="h-full bg-blue-600 transition-all"
          style={{ width: `${(share * 100).toFixed(1)}%` }}
        />
      </div>
    </div>
  );
}
