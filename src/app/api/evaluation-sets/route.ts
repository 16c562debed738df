// POST a zip of labelled images (one folder per class, or a labels.csv of file,label rows) as
// the raw body: ?name=…&model=…[&description=…][&synonyms={"car":"automobile"}][&score=all|v1,v3]
// (the model's versions to score once imported). The archive is
// checked and labelled against the model's classes before anything is stored (4xx otherwise);
// then 202 with the set's id while its images import in the background, or 200 with the set
// that already holds the same archive.
import { getDb } from "@/server/db/client";
import { ArchiveError } from "@/server/evaluation-sets/archive";
import { countQueued } from "@/server/evaluation-sets/background";
import { createEvaluationSet } from "@/server/evaluation-sets/import-set";
import { versionClassNames } from "@/server/evaluation-sets/queries";
import { largeBodies } from "@/server/http/body";
import { access, BodyTooLargeError, fail, failFromDomain, readBodyCapped } from "@/server/http/route-helpers";
import { DEFAULT_SYNONYMS, synonymTableSchema } from "@/shared/class-synonyms";
import { EVALUATION_SET_LIMITS, evaluationSetNameSchema } from "@/shared/evaluation-sets";
import { modelNameSchema } from "@/shared/registry";

export const dynamic = "force-dynamic";

const ZIP_TYPES = ["application/zip", "application/x-zip-compressed", "application/octet-stream"];
/** Imports hold their archive in memory until done. */
const MAX_WAITING_IMPORTS = 2;

function busyAnswer(): Response {
  const response = fail(503, "other evaluation sets are importing; try again in a minute");
  response.headers.set("retry-after", "60");
  return response;
}

function parseSynonyms(raw: string | null): Record<string, string> | string {
  if (raw === null) return DEFAULT_SYNONYMS;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'synonyms must be a JSON object such as {"car":"automobile"}';
  }
  const table = synonymTableSchema.safeParse(value);
  return table.success ? table.data : `synonyms ${table.error.issues[0]?.message ?? "are malformed"}`;
}

export async function POST(req: Request) {
  const db = getDb();
  const identity = await access(db, req, "write");
  if (identity instanceof Response) return identity;
  const query = new URL(req.url).searchParams;
  const name = evaluationSetNameSchema.safeParse(query.get("name") ?? "");
  if (!name.success) return fail(400, `name ${name.error.issues[0]?.message}`);
  const model = modelNameSchema.safeParse(query.get("model") ?? "");
  if (!model.success) return fail(400, `model ${model.error.issues[0]?.message}`);
  const description = (query.get("description") ?? "").trim();
  if (description.length > 2000) return fail(400, "description must be at most 2000 characters");
  const synonyms = parseSynonyms(query.get("synonyms"));
  if (typeof synonyms === "string") return fail(400, synonyms);
  const score = (query.get("score") ?? "").trim();
  if (score && score !== "all" && !/^v?\d{1,9}(,v?\d{1,9}){0,99}$/.test(score))
    return fail(400, 'score must be "all" or version numbers such as v1,v3');
  const type = (req.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!ZIP_TYPES.includes(type))
    return fail(415, "send the images as a zip archive (content-type application/zip)");
  if (countQueued("import:") >= MAX_WAITING_IMPORTS) return busyAnswer();
  const versions = await db.modelVersion.findMany({
    where: { model: { name: model.data } },
    orderBy: { version: "desc" },
    select: { id: true, version: true, runId: true },
  });
  const version = versions[0];
  const wanted =
    score === "all"
      ? null
      : new Set(
          score
            .split(",")
            .filter(Boolean)
            .map((v) => Number(v.replace("v", ""))),
        );
  const scoreAfter = versions.filter((v) => (wanted ? wanted.has(v.version) : true)).map((v) => v.id);
  if (wanted && scoreAfter.length < wanted.size)
    return fail(
      404,
      `model "${model.data}" has no version ${[...wanted].filter((n) => !versions.some((v) => v.version === n)).join(", ")}`,
    );
  if (!version) return fail(404, `model "${model.data}" does not exist or has no versions`);
  // At most two large bodies in memory at once (body.ts); the queue may have filled meanwhile.
  return largeBodies(async () => {
    let archive: Buffer;
    try {
      archive = await readBodyCapped(req, EVALUATION_SET_LIMITS.uploadBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        return fail(
          413,
          `an evaluation set's archive is at most ${EVALUATION_SET_LIMITS.uploadBytes / 1024 / 1024} MiB`,
        );
      throw error;
    }
    if (archive.length === 0) return fail(400, "the upload is empty");
    if (countQueued("import:") >= MAX_WAITING_IMPORTS) return busyAnswer();
    try {
      const created = await createEvaluationSet(db, {
        name: name.data,
        description,
        archive,
        classNames: await versionClassNames(db, version.runId),
        synonyms,
        actor: identity.actor,
        scoreAfter: score ? scoreAfter : [],
      });
      return Response.json(created, { status: created.existing ? 200 : 202 });
    } catch (error) {
      if (ArchiveError.is(error)) return fail(error.status, error.message);
      return failFromDomain(error);
    }
  });
}
