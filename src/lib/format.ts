// Display formatting shared by dashboard components.

export function formatPercent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(digits)}%`;
}

export function formatNumber(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined ? "—" : Number(value.toPrecision(digits)).toString();
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "3 minutes ago"; accepts the ISO strings the API sends. */
export function formatAgo(when: string | Date | null | undefined, now = Date.now()): string {
  if (!when) return "—";
  const seconds = (new Date(when).getTime() - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second")
      return relative.format(Math.round(seconds / size), unit);
  }
  return "—";
}

/** 3725 → "1 h 2 min"; 95 → "1 min 35 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Seconds between two times (to now when `end` is missing). */
export function secondsBetween(
  start: string | Date | null | undefined,
  end?: string | Date | null,
): number | null {
  if (!start) return null;
  return ((end ? new Date(end).getTime() : Date.now()) - new Date(start).getTime()) / 1000;
}

/** Which epoch's weights a model holds, said against the run's best and last epochs. */
export function describeModelEpoch(epoch: number, bestEpoch: number | null, lastEpoch: number): string {
  const notes = [epoch === bestEpoch ? "best val loss" : null, epoch === lastEpoch ? "last" : null].filter(
    Boolean,
  );
  return `epoch ${epoch}${notes.length ? ` (${notes.join(", ")})` : ""}`;
}
