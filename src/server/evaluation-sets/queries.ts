// What the dashboard, the API and the CLI read about evaluation sets and their scores.
import { type Db, poolOf } from "@/server/db/client";
import { readArtifact } from "@/server/services/artifacts";
import { NotFoundError } from "@/shared/errors";
import { isQueued } from "./background";

/** What every view of a set shows. */
const SET_SUMMARY = {
  id: true,
  name: true,
  description: true,
  status: true,
  error: true,
  total: true,
  imported: true,
  createdBy: true,
  createdAt: true,
} as const;

/** What every view of a version's score on a set shows. */
const SCORE_SUMMARY = {
  id: true,
  versionId: true,
  status: true,
  error: true,
  done: true,
  total: true,
  accuracy: true,
} as const;

export function listEvaluationSets(db: Db) {
  return db.evaluationSet.findMany({ orderBy: { createdAt: "desc" }, select: SET_SUMMARY });
}

export async function getEvaluationSet(db: Db, id: number) {
  const set = await db.evaluationSet.findUnique({
    where: { id },
    select: {
      ...SET_SUMMARY,
      mapping: true,
      skipped: true,
      evaluations: {
        orderBy: { id: "asc" },
        select: {
          ...SCORE_SUMMARY,
          finishedAt: true,
          version: { select: { version: true, model: { select: { name: true } } } },
        },
      },
    },
  });
  if (!set) throw new NotFoundError(`evaluation set ${id} does not exist`);
  const { rows: classes } = await poolOf(db).query<{ label: string; count: number }>(
    `SELECT label, count(*)::int AS count FROM "EvaluationImage" WHERE "setId" = $1 GROUP BY label ORDER BY label`,
    [id],
  );
  return {
    ...set,
    skipped: set.skipped as { file: string; reason: string }[],
    mapping: set.mapping as Record<string, string>,
    classes,
    evaluations: set.evaluations.map(({ version, ...e }) => ({
      ...e,
      model: version.model.name,
      version: version.version,
      stalled: (e.status === "queued" || e.status === "running") && !isQueued(`score:${e.id}`),
    })),
  };
}

export async function getSetEvaluation(db: Db, setId: number, versionId: number) {
  const row = await db.setEvaluation.findUnique({
    where: { setId_versionId: { setId, versionId } },
    include: {
      set: { select: { name: true } },
      version: { select: { version: true, model: { select: { name: true } } } },
    },
  });
  if (!row) throw new NotFoundError(`version id ${versionId} has not been scored on evaluation set ${setId}`);
  const { version, set, ...rest } = row;
  return { ...rest, setName: set.name, model: version.model.name, version: version.version };
}

/** Every ready set, and the scores of each of `model`'s versions on it. */
export async function modelSetScores(db: Db, model: string) {
  const [sets, scores] = await Promise.all([
    db.evaluationSet.findMany({
      orderBy: { createdAt: "asc" },
      select: { id: true, name: true, status: true, imported: true, total: true, error: true },
    }),
    db.setEvaluation.findMany({
      where: { version: { model: { name: model } } },
      select: {
        ...SCORE_SUMMARY,
        setId: true,
        version: { select: { version: true } },
      },
    }),
  ]);
  return {
    sets,
    scores: scores.map(({ version, ...s }) => ({ ...s, version: version.version })),
  };
}

/** The class names a model version was trained on, from its model.json. */
export async function versionClassNames(db: Db, runId: number): Promise<string[]> {
  const json = await readArtifact(db, runId, "model.json");
  const meta = json
    ? (
        JSON.parse(json.toString("utf8")) as {
          userDefinedMetadata?: { labbook?: { classNames?: string[] } };
        }
      ).userDefinedMetadata?.labbook
    : undefined;
  if (!meta?.classNames) throw new Error(`run ${runId}'s model.json has no class names`);
  return meta.classNames;
}
