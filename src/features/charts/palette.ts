// Distinct colours for runs and groups, in a fixed order so a run keeps its colour across charts.
const COLORS = [
  "#4f46e5",
  "#dc2626",
  "#059669",
  "#d97706",
  "#0891b2",
  "#9333ea",
  "#db2777",
  "#65a30d",
  "#475569",
  "#ea580c",
];

export function colorAt(index: number): string {
  return COLORS[index % COLORS.length] as string;
}
