// An evaluation set's report (evaluationSet.result's answer, checked by `labbook evaluate`
// against this schema) and its text form.
import { z } from "zod";
import { setMisclassifiedSchema } from "./evaluation-sets";
import { classMetricsSchema } from "./scoring";

export const setReportSchema = z.object({
  setName: z.string(),
  model: z.string(),
  version: z.number().int(),
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  total: z.number().int().min(0),
  confusionMatrix: z.array(z.array(z.number())).nullable(),
  perClass: z.array(classMetricsSchema).nullable(),
  misclassified: z.array(setMisclassifiedSchema.omit({ index: true })).nullable(),
});
export type SetReport = z.output<typeof setReportSchema>;

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Top-3 classes of one image's probabilities. */
export function topClasses(probabilities: number[], classNames: readonly string[], n = 3) {
  return probabilities
    .map((probability, i) => ({ label: classNames[i] ?? String(i), probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, n);
}

export function formatSetReport(report: SetReport, classNames: readonly string[], shown = 20): string {
  const lines = [
    `${report.model} v${report.version} on "${report.setName}": accuracy ${report.accuracy === null ? "–" : pct(report.accuracy)} of ${report.total} images, loss ${report.loss?.toFixed(4) ?? "–"}`,
    "",
    `${"class".padEnd(12)}${"precision".padStart(10)}${"recall".padStart(8)}${"F1".padStart(8)}${"support".padStart(9)}`,
  ];
  for (const c of report.perClass ?? [])
    lines.push(
      `${(classNames[c.class] ?? String(c.class)).padEnd(12)}${pct(c.precision).padStart(10)}${pct(c.recall).padStart(8)}${pct(c.f1).padStart(8)}${String(c.support).padStart(9)}`,
    );
  if (report.confusionMatrix) {
    const short = classNames.map((name) => name.slice(0, 5));
    lines.push("", `confusion matrix (rows: true class, columns: predicted)`);
    lines.push(`${"".padEnd(12)}${short.map((s) => s.padStart(6)).join("")}`);
    for (const [i, row] of report.confusionMatrix.entries())
      lines.push(
        `${(classNames[i] ?? String(i)).padEnd(12)}${row.map((v) => String(v).padStart(6)).join("")}`,
      );
  }
  const wrong = report.misclassified ?? [];
  if (wrong.length > 0) {
    lines.push("", `misclassified: ${wrong.length}${wrong.length > shown ? ` (first ${shown})` : ""}`);
    for (const m of wrong.slice(0, shown))
      lines.push(
        `  ${m.file}: ${classNames[m.label]} → ${topClasses(m.probabilities, classNames)
          .map((t) => `${t.label} ${pct(t.probability)}`)
          .join(", ")}`,
      );
  }
  return lines.join("\n");
}
