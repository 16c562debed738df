// `labbook evaluate --model NAME[@ALIAS|@vN] --images DIR|ZIP`: stores the images as an
// evaluation set on the server (once: the same archive is found again), scores the version on
// it there, and prints the report (or, with --json, the report as JSON).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { zipSync } from "fflate";
import { CLASS_NAMES } from "../shared/cifar10-classes";
import { parseSynonyms } from "../shared/class-synonyms";
import { formatSetReport, setReportSchema } from "../shared/evaluation-report";
import { EVALUATION_SET_LIMITS, evaluationSetProgressSchema } from "../shared/evaluation-sets";
import { modelVersionsSchema } from "../shared/registry";
import { LabbookClient } from "./worker/client";

export interface EvaluateOptions {
  url: string;
  token?: string;
  model?: string;
  images?: string;
  name?: string;
  synonym?: string[];
  json?: boolean;
}

/** A folder as a zip (stored, not compressed: images are compressed already). */
export function zipFolder(dir: string): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  let bytes = 0;
  let count = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    bytes += statSync(full).size;
    if (++count > EVALUATION_SET_LIMITS.entries || bytes > EVALUATION_SET_LIMITS.uncompressedBytes)
      throw new Error(
        `${dir} holds more than an evaluation set may (${EVALUATION_SET_LIMITS.images.toLocaleString("en")} images, ${EVALUATION_SET_LIMITS.uncompressedBytes / 1024 / 1024} MB)`,
      );
    files[path.relative(dir, full).split(path.sep).join("/")] = readFileSync(full);
  }
  return zipSync(files, { level: 0 });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let lastProgress = "";
/** One line rewritten in a terminal; elsewhere (a log, a pipe) a whole line per change. */
function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}`);
  else if (text !== lastProgress) process.stderr.write(`${text}\n`);
  lastProgress = text;
}

export async function runEvaluateCommand(options: EvaluateOptions): Promise<number> {
  if (!options.model || !options.images) {
    console.error(
      "usage: labbook evaluate --model NAME[@ALIAS|@vN] --images DIR|ZIP [--name SET] [--synonym a=b]… [--json]",
    );
    return 2;
  }
  const [modelName = "", ref = "production"] = options.model.split("@");
  const synonyms = options.synonym ? parseSynonyms(options.synonym.join("\n")) : undefined;
  const client = new LabbookClient(options.url, options.token, 600_000);
  const model = await client.query("model.get", { name: modelName }, modelVersionsSchema);
  const number = /^v?\d+$/.test(ref)
    ? Number(ref.replace(/^v/, ""))
    : model.aliases.find((a) => a.alias === ref)?.version;
  const version = model.versions.find((v) => v.version === number);
  if (!version) {
    console.error(`model "${modelName}" has no ${/^v?\d+$/.test(ref) ? `version ${ref}` : `${ref} alias`}`);
    return 1;
  }

  const source = path.resolve(options.images);
  const zip = statSync(source).isDirectory() ? zipFolder(source) : new Uint8Array(readFileSync(source));
  const set = await client.uploadEvaluationSet(
    { name: options.name ?? path.basename(source).replace(/\.zip$/i, ""), model: modelName, synonyms },
    zip,
  );
  console.error(
    `${set.existing ? "using the stored" : "storing the"} evaluation set "${set.name}" (id ${set.id})`,
  );
  let info = await client.query("evaluationSet.get", { id: set.id }, evaluationSetProgressSchema);
  while (info.status === "importing") {
    progress(`importing ${info.imported}/${info.total} images…`);
    await sleep(1000);
    info = await client.query("evaluationSet.get", { id: set.id }, evaluationSetProgressSchema);
  }
  if (info.status !== "ready") {
    console.error(`\nthe set could not be imported: ${info.error}`);
    return 1;
  }
  if (info.skipped.length > 0)
    console.error(
      `skipped ${info.skipped.length} file(s): ${info.skipped
        .slice(0, 5)
        .map((s) => `${s.file} (${s.reason})`)
        .join("; ")}${info.skipped.length > 5 ? "; …" : ""}`,
    );

  await client.mutation("evaluationSet.score", { setId: set.id, versionIds: [version.id] });
  for (;;) {
    info = await client.query("evaluationSet.get", { id: set.id }, evaluationSetProgressSchema);
    const mine = info.evaluations.find((e) => e.versionId === version.id);
    if (mine?.status === "failed") {
      console.error(`\nthe evaluation failed: ${mine.error}`);
      return 1;
    }
    if (mine?.status === "done") break;
    progress(`scoring ${mine?.done ?? 0}/${mine?.total ?? info.imported} images…`);
    await sleep(1000);
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  const report = await client.query(
    "evaluationSet.result",
    { setId: set.id, versionId: version.id },
    setReportSchema,
  );
  if (options.json) console.log(JSON.stringify({ ...report, classNames: CLASS_NAMES }, null, 2));
  else console.log(formatSetReport(report, CLASS_NAMES));
  return 0;
}
