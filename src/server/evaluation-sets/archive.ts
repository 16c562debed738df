// Reads an uploaded zip of labelled images, refusing before any work what cannot be a plain
// set of images: paths that leave the archive, nested archives, zip bombs, too many images or
// bytes, and labels that name no class of the model. Labels come from each file's folder
// (cat/x.jpg) or from a labels.csv of file,label rows. Nothing is written to disk.
import { setImmediate } from "node:timers/promises";
import { parse } from "csv-parse";
import yauzl from "yauzl";
import { resolveClass } from "@/shared/class-synonyms";
import { EVALUATION_SET_LIMITS as LIMITS } from "@/shared/evaluation-sets";

export class ArchiveError extends Error {
  override readonly name = "ArchiveError";
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }

  /** By name: Next.js bundles its own copy of this class. */
  static is(error: unknown): error is ArchiveError {
    return error instanceof Error && error.name === "ArchiveError";
  }
}

export interface PlannedImage {
  file: string;
  label: string;
  entry: yauzl.Entry;
}

export interface ArchivePlan {
  zip: yauzl.ZipFile;
  images: PlannedImage[];
  /** Files that will not be used, and why. */
  skipped: { file: string; reason: string }[];
  /** Each label found → the class it names. */
  mapping: Record<string, string>;
}

const NESTED_ARCHIVE = /\.(zip|jar|tar|tgz|gz|bz2|xz|zst|7z|rar|cab|iso)$/i;
const JUNK = (file: string) =>
  file.startsWith("__MACOSX/") || /(^|\/)(\.[^/]*|Thumbs\.db|desktop\.ini)$/i.test(file);
const LABELS_CSV = /^labels\.csv$/i;
/** Past this ratio an entry of a megabyte or more is a bomb, not an image. */
const MAX_RATIO = 100;

function openZip(bytes: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true }, (error, zip) =>
      error || !zip ? reject(error) : resolve(zip),
    ),
  );
}

function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on("entry", (entry: yauzl.Entry) => {
      entries.push(entry);
      if (entries.length > LIMITS.entries)
        reject(
          new ArchiveError(413, `the archive has more than ${LIMITS.entries.toLocaleString("en")} entries`),
        );
      else zip.readEntry();
    });
    zip.on("end", () => resolve(entries));
    zip.on("error", reject);
    zip.readEntry();
  });
}

/** An entry's bytes, never more than it declared (yauzl checks a lying header as it inflates). */
export function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return reject(error);
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => resolve(Buffer.concat(chunks)));
      stream.on("error", reject);
    }),
  );
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

/** Entries under one common folder (a zipped folder) are read as if it were the root. */
function commonRoot(files: string[]): string {
  const first = files[0]?.split("/")[0];
  if (!first || files.some((file) => !file.startsWith(`${first}/`))) return "";
  // A zip of one class folder (cat/x.jpg) keeps it: that folder is the label.
  const nested = files.some((file) => file.slice(first.length + 1).includes("/"));
  return nested ? `${first}/` : "";
}

/** labels.csv: a row per image is far below these. Past them, parsing would hold the loop. */
const MAX_CSV_BYTES = 4 * 1024 * 1024;
const CSV_SLICE_BYTES = 64 * 1024;
/** Skipped files kept by name; past this many, one line counts the rest. */
const MAX_SKIPPED = 1_000;

/** Parsed a slice at a time, yielding between slices: other requests go on meanwhile. */
async function csvLabels(bytes: Buffer): Promise<Map<string, string>> {
  let lines = 0;
  for (let at = bytes.indexOf(10); at >= 0 && lines <= LIMITS.entries; at = bytes.indexOf(10, at + 1))
    lines++;
  if (lines > LIMITS.entries)
    throw new ArchiveError(413, `labels.csv has over ${LIMITS.entries.toLocaleString("en")} rows`);
  let rows: string[][] = [];
  try {
    const parser = parse({ relax_column_count: true, skip_empty_lines: true, trim: true, bom: true });
    let failed = false;
    const ended = new Promise<void>((resolve, reject) => {
      parser.on("end", resolve);
      parser.on("error", (error) => {
        failed = true;
        reject(error);
      });
    });
    // Handled below, after the writes: a parse error must not surface as an unhandled rejection.
    ended.catch(() => {});
    parser.on("readable", () => {
      for (let row = parser.read(); row !== null; row = parser.read()) rows.push(row);
    });
    for (let at = 0; at < bytes.length && !failed; at += CSV_SLICE_BYTES) {
      parser.write(bytes.subarray(at, at + CSV_SLICE_BYTES));
      await setImmediate();
    }
    if (!failed) parser.end();
    await ended;
  } catch (error) {
    throw new ArchiveError(400, `labels.csv could not be read: ${(error as Error).message}`);
  }
  if (rows[0]?.[0]?.toLowerCase() === "file") rows = rows.slice(1);
  const labels = new Map<string, string>();
  for (const [n, row] of rows.entries()) {
    const [file, label] = row;
    if (!file || !label) throw new ArchiveError(400, `labels.csv row ${n + 1} is not "file,label"`);
    labels.set(file.replace(/^\.\//, ""), label);
  }
  return labels;
}

/**
 * Checks the archive and labels every image; throws ArchiveError (and the caller stores
 * nothing) when a limit is passed or a label is not one of `classNames`.
 */
export async function planArchive(
  bytes: Buffer,
  classNames: readonly string[],
  synonyms: Record<string, string>,
): Promise<ArchivePlan> {
  let zip: yauzl.ZipFile;
  let entries: yauzl.Entry[];
  try {
    zip = await openZip(bytes);
    entries = await listEntries(zip);
  } catch (error) {
    if (ArchiveError.is(error)) throw error;
    const message = (error as Error).message;
    if (/invalid relative path|absolute path|invalid characters/.test(message))
      throw new ArchiveError(400, `the archive has a path that leads outside it (${message})`);
    throw new ArchiveError(415, `the upload is not a readable zip archive (${message})`);
  }

  const files = entries.filter((entry) => !entry.fileName.endsWith("/") && !JUNK(entry.fileName));
  const nested = files.find((entry) => NESTED_ARCHIVE.test(entry.fileName));
  if (nested) throw new ArchiveError(400, `archives inside the archive are not accepted: ${nested.fileName}`);
  let declared = 0;
  for (const entry of files) {
    declared += entry.uncompressedSize;
    if (
      entry.uncompressedSize >= 1024 * 1024 &&
      entry.uncompressedSize > MAX_RATIO * Math.max(1, entry.compressedSize)
    )
      throw new ArchiveError(
        413,
        `${entry.fileName} inflates ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}-fold: a zip bomb, not an image`,
      );
  }
  if (declared > LIMITS.uncompressedBytes)
    throw new ArchiveError(
      413,
      `the archive holds ${mib(declared)} uncompressed; an evaluation set is at most ${mib(LIMITS.uncompressedBytes)}`,
    );

  const root = commonRoot(files.map((entry) => entry.fileName));
  const relative = (entry: yauzl.Entry) => entry.fileName.slice(root.length);
  const csvEntry = files.find((entry) => LABELS_CSV.test(relative(entry)));
  if (csvEntry && csvEntry.uncompressedSize > MAX_CSV_BYTES)
    throw new ArchiveError(413, `labels.csv is over ${mib(MAX_CSV_BYTES)}; list one image per row`);
  const csv = csvEntry ? await csvLabels(await readEntry(zip, csvEntry)) : null;

  const skipped: ArchivePlan["skipped"] = [];
  const labelled: { file: string; label: string; entry: yauzl.Entry }[] = [];
  for (const entry of files) {
    if (entry === csvEntry) continue;
    const file = relative(entry);
    const label = csv ? csv.get(file) : file.includes("/") ? file.split("/")[0] : undefined;
    if (!label) skipped.push({ file, reason: csv ? "not listed in labels.csv" : "not in a class folder" });
    else labelled.push({ file, label, entry });
  }
  if (csv) {
    const present = new Set(files.map(relative));
    for (const file of csv.keys())
      if (!present.has(file)) skipped.push({ file, reason: "listed in labels.csv but not in the archive" });
  }
  if (labelled.length > LIMITS.images)
    throw new ArchiveError(
      413,
      `the archive has ${labelled.length.toLocaleString("en")} labelled files; an evaluation set is at most ${LIMITS.images.toLocaleString("en")} images`,
    );

  // Maps, not objects: a folder may be named "constructor" or "__proto__".
  const mapping = new Map<string, string>();
  const unknown = new Map<string, number>();
  for (const { label } of labelled) {
    if (mapping.has(label)) continue;
    const misses = unknown.get(label);
    if (misses !== undefined) {
      unknown.set(label, misses + 1);
      continue;
    }
    const resolved = resolveClass(label, classNames, synonyms);
    if (resolved) mapping.set(label, resolved);
    else unknown.set(label, 1);
  }
  if (unknown.size > 0)
    throw new ArchiveError(
      400,
      `unknown class${unknown.size > 1 ? "es" : ""}: ${[...unknown]
        .map(([label, count]) => `"${label}" (${count} file${count > 1 ? "s" : ""})`)
        .join(
          ", ",
        )}. The model's classes are ${classNames.join(", ")}; rename the folder or add a synonym such as "${[...unknown.keys()][0]} = ${classNames[0]}"`,
    );
  if (labelled.length === 0)
    throw new ArchiveError(
      400,
      "the archive has no labelled images: put them in one folder per class (cat/, ship/, …) or list them in labels.csv",
    );
  // A header can understate what its entry inflates to: read each one through before anything
  // is stored (yauzl stops a stream at the declared size).
  for (const { entry } of labelled) {
    try {
      await readEntry(zip, entry);
    } catch (error) {
      throw new ArchiveError(
        413,
        `${entry.fileName} does not inflate to the size its header declares: a zip bomb or a broken archive (${(error as Error).message})`,
      );
    }
  }
  return {
    zip,
    images: labelled.map(({ file, label, entry }) => ({ file, label: mapping.get(label) as string, entry })),
    skipped:
      skipped.length > MAX_SKIPPED
        ? [
            ...skipped.slice(0, MAX_SKIPPED),
            {
              file: "…",
              reason: `and ${(skipped.length - MAX_SKIPPED).toLocaleString("en")} more files skipped`,
            },
          ]
        : skipped,
    mapping: Object.fromEntries(mapping),
  };
}
