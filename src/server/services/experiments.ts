// Experiments: create (with the runs to queue), list with run counts, rename, archive.
import type { z } from "zod";
import type { Prisma } from "@/generated/prisma/client";
import type { Db } from "@/server/db/client";
import { InvalidInputError, NotFoundError } from "@/shared/errors";
import { type experimentCreateSchema, type experimentListSchema, runSpecSchema } from "@/shared/experiments";
import { type RandomSearch, sampleSearch } from "@/shared/random-search";
import { RUN_STATUSES, type RunStatus } from "@/shared/run-status";
import { describeIssue } from "@/shared/zod-issues";
import { queueRuns } from "./runs";

export async function createExperiment(db: Db, input: z.output<typeof experimentCreateSchema>) {
  const specs = [...input.runs, ...(input.search ? searchSpecs(input.search) : [])];
  return db.$transaction(async (tx) => {
    const experiment = await tx.experiment.create({
      data: {
        name: input.name,
        description: input.description,
        ...(input.search ? { search: input.search as Prisma.InputJsonObject } : {}),
      },
    });
    const runs = specs.length ? await queueRuns(tx, experiment.id, specs) : [];
    return { ...experiment, runIds: runs.map((run) => run.id) };
  });
}

export async function listExperiments(db: Db, input: z.output<typeof experimentListSchema>) {
  const where: Prisma.ExperimentWhereInput = {
    ...(input.includeArchived ? {} : { archivedAt: null }),
    ...(input.search ? { name: { contains: input.search, mode: "insensitive" } } : {}),
    // MLflow's default experiment shows once a client has logged to it.
    NOT: { id: 0, runs: { none: {} } },
  };
  const experiments = await db.experiment.findMany({
    where,
    orderBy: { id: "desc" },
    take: input.limit + 1,
    ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
  });
  const page = experiments.slice(0, input.limit);
  const ids = page.map((e) => e.id);
  const [byStatus, summaries] = await Promise.all([
    db.run.groupBy({
      by: ["experimentId", "status"],
      where: { experimentId: { in: ids }, deletedAt: null },
      _count: { _all: true },
    }),
    db.run.groupBy({
      by: ["experimentId"],
      where: { experimentId: { in: ids }, deletedAt: null },
      _max: { bestValAccuracy: true, testAccuracy: true, updatedAt: true },
    }),
  ]);
  const items = page.map((experiment) => {
    const runCounts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
    for (const row of byStatus)
      if (row.experimentId === experiment.id) runCounts[row.status] = row._count._all;
    const summary = summaries.find((row) => row.experimentId === experiment.id)?._max;
    const lastRunActivity = summary?.updatedAt ?? null;
    return {
      ...experiment,
      runCounts,
      totalRuns: Object.values(runCounts).reduce((a, b) => a + b, 0),
      bestValAccuracy: summary?.bestValAccuracy ?? null,
      bestTestAccuracy: summary?.testAccuracy ?? null,
      lastActivityAt:
        lastRunActivity && lastRunActivity > experiment.updatedAt ? lastRunActivity : experiment.updatedAt,
    };
  });
  const last = page.at(-1);
  return { items, nextCursor: experiments.length > input.limit && last ? last.id : null };
}

export async function getExperiment(db: Db, id: number) {
  const experiment = await db.experiment.findUnique({ where: { id } });
  if (!experiment) throw new NotFoundError(`experiment ${id} does not exist`);
  return experiment;
}

export async function renameExperiment(db: Db, id: number, name: string) {
  await getExperiment(db, id);
  return db.experiment.update({ where: { id }, data: { name } });
}

export async function setExperimentArchived(db: Db, id: number, archived: boolean) {
  await getExperiment(db, id);
  return db.experiment.update({ where: { id }, data: { archivedAt: archived ? new Date() : null } });
}

/** The search's sampled configs as run specs, each checked as if it had been sent as one. */
function searchSpecs(search: RandomSearch) {
  return sampleSearch(search).map(({ name, config }, i) => {
    const spec = runSpecSchema.safeParse({ name, config, seeds: search.seeds });
    if (!spec.success)
      throw new InvalidInputError(
        `search config ${i + 1}: ${spec.error.issues.map(describeIssue).join("; ")}`,
      );
    return spec.data;
  });
}
