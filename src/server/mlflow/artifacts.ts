// MLflow's artifact proxy (/api/2.0/mlflow-artifacts/artifacts/<path>): paths are
// <experiment>/<run uuid>/artifacts/<file path>, and the files are Labbook's artifacts of that
// run, named by their path inside it ("model/MLmodel"). No path leaves its run: every segment
// is checked, and a run's files are found by its id, never by a path on disk.
import { type Db, poolOf } from "@/server/db/client";
import { findArtifact, storeArtifact, streamArtifact } from "@/server/services/artifacts";
import { MAX_DB_INT } from "@/shared/ids";
import { isStorableText } from "@/shared/storable-text";
import { MlflowError } from "./errors";
import { EVALUATION_ARTIFACT, importEvaluationArtifact } from "./evaluation-artifact";

/** An artifact's path inside its run: at most 500 characters (the unique index takes ~2,700 bytes). */
export const MAX_ARTIFACT_PATH = 500;

export interface ArtifactTarget {
  runId: number;
  /** The path inside the run's artifacts folder; "" for the folder itself. */
  path: string;
  source: "labbook" | "mlflow";
}

const invalidPath = (path: string, why: string) =>
  new MlflowError("INVALID_PARAMETER_VALUE", `invalid artifact path '${path.slice(0, 200)}': ${why}`);

/** Checks each segment: no empty, '.', '..' or backslash segments, no control characters. */
export function safeRelativePath(path: string): string {
  if (path === "") return "";
  if (path.length > MAX_ARTIFACT_PATH) throw invalidPath(path, `over ${MAX_ARTIFACT_PATH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f\\]/.test(path))
    throw invalidPath(path, "control characters and backslashes are refused");
  if (!isStorableText(path)) throw invalidPath(path, "it is not valid Unicode");
  const segments = path.replace(/\/+$/, "").split("/");
  if (segments.some((s) => s === "" || s === "." || s === ".."))
    throw invalidPath(path, "empty, '.' and '..' segments are refused");
  return segments.join("/");
}

/** Resolves `<experiment>/<run uuid>/artifacts[/<path>]` to a live run and a path inside it. */
export async function resolveArtifactPath(db: Db, raw: string): Promise<ArtifactTarget | null> {
  const match = /^(\d{1,10})\/([0-9a-f]{32})\/artifacts(?:\/(.*))?$/.exec(raw.replace(/^\/+/, ""));
  if (!match || Number(match[1]) > MAX_DB_INT) return null;
  const path = safeRelativePath(match[3] ?? "");
  const { rows } = await poolOf(db).query<{ id: number; source: "labbook" | "mlflow" }>(
    `SELECT id, source::text AS source FROM "Run" WHERE uuid = $1 AND "experimentId" = $2 AND "deletedAt" IS NULL`,
    [match[2], Number(match[1])],
  );
  const run = rows[0];
  return run ? { runId: run.id, path, source: run.source } : null;
}

/** The folder's direct children, as MLflow lists them: base names, folders without a size. */
export async function listArtifactFolder(db: Db, target: ArtifactTarget) {
  const prefix = target.path ? `${target.path}/` : "";
  const { rows } = await poolOf(db).query<{ name: string; size: number }>(
    `SELECT name, size FROM "Artifact" WHERE "runId" = $1 AND starts_with(name, $2) ORDER BY name`,
    [target.runId, prefix],
  );
  const files: { path: string; is_dir: boolean; file_size?: number }[] = [];
  const folders = new Set<string>();
  for (const row of rows) {
    const rest = row.name.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0) files.push({ path: rest, is_dir: false, file_size: row.size });
    else folders.add(rest.slice(0, slash));
  }
  for (const folder of folders) files.push({ path: folder, is_dir: true });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files.length ? { files } : {};
}

export async function uploadArtifact(db: Db, target: ArtifactTarget, bytes: Buffer, contentType: string) {
  if (!target.path) throw invalidPath("", "name a file inside the run's artifacts");
  const existing = await poolOf(db).query(
    `SELECT 1 FROM "Artifact" WHERE "runId" = $1 AND starts_with(name, $2) LIMIT 1`,
    [target.runId, `${target.path}/`],
  );
  if (existing.rowCount) throw invalidPath(target.path, "a folder of that name exists");
  await storeArtifact(db, {
    runId: target.runId,
    name: target.path,
    kind: target.path === EVALUATION_ARTIFACT ? "evaluation" : "other",
    contentType: contentType.slice(0, 200),
    bytes,
    tokenId: null,
  });
  if (target.path === EVALUATION_ARTIFACT && target.source === "mlflow") {
    const problem = await importEvaluationArtifact(db, target.runId, bytes);
    await db.runLog.create({
      data: {
        runId: target.runId,
        level: problem ? "warn" : "info",
        message: problem
          ? `${EVALUATION_ARTIFACT} is kept as a file but not shown as an evaluation: ${problem}`
          : `${EVALUATION_ARTIFACT} is shown as the run's evaluation`,
      },
    });
  }
}

export async function downloadArtifact(db: Db, target: ArtifactTarget) {
  const artifact = target.path ? await findArtifact(db, target.runId, target.path) : null;
  if (!artifact) throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `artifact '${target.path}' does not exist`);
  return { artifact, body: streamArtifact(db, artifact) };
}

/** Deletes a file or a folder of an MLflow run; Labbook's own runs' files and registered models stay. */
export async function deleteArtifacts(db: Db, target: ArtifactTarget) {
  if (target.source !== "mlflow")
    throw new MlflowError("PERMISSION_DENIED", "the artifacts of runs trained by Labbook are read-only");
  const { rowCount } = await poolOf(db).query(
    `DELETE FROM "Artifact" a WHERE a."runId" = $1 AND ($2 = '' OR a.name = $2 OR starts_with(a.name, $2 || '/'))
       AND NOT EXISTS (SELECT 1 FROM "ModelVersion" v WHERE v."artifactId" = a.id)`,
    [target.runId, target.path],
  );
  if (!rowCount) throw new MlflowError("RESOURCE_DOES_NOT_EXIST", `artifact '${target.path}' does not exist`);
}
