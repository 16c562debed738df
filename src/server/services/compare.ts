// The compare view's data: runs side by side with their parameter differences, seed groups
// with mean ± 95% CI, a significance test between two groups, and metric history
// downsampled on the server (min/max kept) so a hundred runs draw at once.
import type { Db } from "@/server/db/client";
import { distinguishingLabels, paramRows } from "@/shared/config-diff";
import { NotFoundError } from "@/shared/errors";
import { FINITE_VALUE, stepBucket, toSeries } from "./metrics";
import { settingsOf } from "./runs";
import { describeWelch, meanCI, welchTTest } from "./stats";

export async function compareRuns(db: Db, runIds: number[]) {
  const rows = await db.run.findMany({
    where: { id: { in: runIds }, deletedAt: null },
    include: {
      experiment: { select: { id: true, name: true } },
      worker: { select: { name: true } },
      params: { select: { key: true, value: true } },
    },
  });
  const missing = runIds.filter((id) => !rows.some((r) => r.id === id));
  if (missing.length) throw new NotFoundError(`runs ${missing.join(", ")} do not exist`);
  const runs = runIds.map((id) => rows.find((r) => r.id === id) as (typeof rows)[number]);

  const groupKeys = [...new Set(runs.map((r) => r.groupKey))];
  const labels = distinguishingLabels(
    groupKeys.map((key) => settingsOf(runs.find((r) => r.groupKey === key) ?? { config: null })),
  );
  const groups = groupKeys.map((key, i) => {
    const members = runs.filter((r) => r.groupKey === key);
    // A run alone in its group, with nothing in common to tell it by, goes by its name.
    const label =
      labels[i] === "same config" && members.length === 1
        ? `#${members[0]?.id} ${members[0]?.name}`
        : labels[i];
    const tests = members.flatMap((r) => (r.testAccuracy === null ? [] : [r.testAccuracy]));
    const bests = members.flatMap((r) => (r.bestValAccuracy === null ? [] : [r.bestValAccuracy]));
    return { label: label as string, runIds: members.map((r) => r.id), tests, bests, groupKey: key };
  });
  return {
    runs,
    params: paramRows(runs.map(settingsOf)),
    groups: groups.map(({ tests, bests, ...group }) => ({
      ...group,
      testAccuracy: tests.length ? meanCI(tests) : null,
      bestValAccuracy: bests.length ? meanCI(bests) : null,
    })),
    significance: significance(groups),
  };
}

/** Welch's t-test on final test accuracy when the runs form exactly two groups of replicas. */
function significance(groups: { label: string; tests: number[] }[]) {
  if (groups.length !== 2)
    return {
      result: null,
      reason: "Select runs that form exactly two groups (configs that differ only in seed).",
    };
  const [a, b] = groups.map((g) => g.tests) as [number[], number[]];
  if (a.length < 2 || b.length < 2)
    return {
      result: null,
      reason: "Each group needs at least two finished runs (seeds) with a test accuracy.",
    };
  const [labelA, labelB] = groups.map((g) => g.label) as [string, string];
  const result = welchTTest(a, b);
  return {
    result,
    labels: [labelA, labelB],
    summary: describeWelch(labelA, labelB, result, "test accuracy"),
    reason: null,
  };
}

/**
 * Per group, key and step: the mean over the group's live runs with its 95% CI. Steps are
 * thinned in SQL to at most `maxPoints` per group and key (the last step of each bucket), so a
 * reader never pulls whole histories; NaN and infinities are left out, as on the run charts.
 */
export async function groupBands(db: Db, runIds: number[], keys: string[], maxPoints: number) {
  const rows = await db.$queryRaw<{ groupKey: string; key: string; step: number; values: number[] }[]>`
    WITH pts AS (
      SELECT r."groupKey", m.key, m.step, m.value
      FROM "MetricPoint" m JOIN "Run" r ON r.id = m."runId"
      WHERE m."runId" = ANY(${runIds}::int[]) AND r."deletedAt" IS NULL AND m.key = ANY(${keys}::text[])
        AND ${FINITE_VALUE}
    ), span AS (
      SELECT "groupKey", key, min(step) AS lo, max(step) AS hi, count(DISTINCT step) AS n
      FROM pts GROUP BY "groupKey", key
    ), kept AS (
      SELECT p."groupKey", p.key, max(p.step) AS step
      FROM pts p JOIN span s ON s."groupKey" = p."groupKey" AND s.key = p.key
      GROUP BY p."groupKey", p.key, ${stepBucket(maxPoints)}
    )
    SELECT p."groupKey", p.key, p.step, array_agg(p.value) AS values
    FROM pts p JOIN kept k ON k."groupKey" = p."groupKey" AND k.key = p.key AND k.step = p.step
    GROUP BY p."groupKey", p.key, p.step
    ORDER BY p."groupKey", p.key, p.step`;
  return toSeries(rows, "groupKey", (row) => ({ step: row.step, ...meanCI(row.values) }));
}
