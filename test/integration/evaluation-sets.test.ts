// Evaluation sets over real HTTP against the real server and PostgreSQL: a zip of labelled
// images (class folders with plurals and synonyms, junk and non-images) is stored once and
// scored against two model versions; each image's prediction is the predict endpoint's for the
// same file; hostile archives are refused with nothing stored; `labbook evaluate` prints the
// same report.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { zipSync } from "fflate";
import sharp from "sharp";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@/server/db/client";
import { CLASS_NAMES } from "@/shared/cifar10-classes";
import { RECORD_BYTES, recordRgb, TEST_FILE } from "@/trainer/data/cifar10-format";
import { LabbookClient } from "@/trainer/worker/client";
import { until } from "../../scripts/lib/worker-process";
import { succeededRunWithModel } from "../helpers/registered-model";

const baseUrl = inject("baseUrl");
const db = createDb(inject("databaseUrl"));
const api = new LabbookClient(baseUrl);
afterAll(() => db.$disconnect());

const unique = (name: string) => `${name}-${process.pid}-${Date.now()}`;
const BIN = path.resolve(import.meta.dirname, "../../bin/labbook");

/** A CIFAR-10 test image as PNG, at its size or enlarged to a photo-like JPEG. */
async function testImage(index: number, kind: "png" | "jpeg"): Promise<Uint8Array> {
  const record = readFileSync(path.join(inject("datasetDir"), TEST_FILE)).subarray(
    index * RECORD_BYTES,
    (index + 1) * RECORD_BYTES,
  );
  const image = sharp(recordRgb(record), { raw: { width: 32, height: 32, channels: 3 } });
  return new Uint8Array(
    kind === "png"
      ? await image.png().toBuffer()
      : await image.resize(300, 200).jpeg({ quality: 90 }).toBuffer(),
  );
}

async function modelWithTwoVersions() {
  const name = unique("evalsets").slice(0, 60);
  const experiment = await api.mutation<{ runIds: number[] }>("experiment.create", {
    name,
    runs: [{ name: "a", config: { epochs: 1 }, seeds: [1, 2] }],
  });
  for (const [i, runId] of experiment.runIds.entries()) {
    await succeededRunWithModel(api, db, runId, 3 + i);
    await api.mutation("model.register", { runId, name });
  }
  const model = await api.query<{ versions: { id: number; version: number }[] }>("model.get", { name });
  return { name, versions: model.versions.sort((a, b) => a.version - b.version) };
}

function post(params: Record<string, string>, body: Uint8Array, type = "application/zip") {
  return fetch(new URL(`/api/evaluation-sets?${new URLSearchParams(params)}`, baseUrl), {
    method: "POST",
    headers: { "content-type": type },
    body: new Uint8Array(body),
  });
}

const counts = async () => [await db.evaluationSet.count(), await db.evaluationImage.count()];

interface SetInfo {
  status: string;
  imported: number;
  total: number;
  skipped: { file: string; reason: string }[];
  mapping: Record<string, string>;
  classes: { label: string; count: number }[];
  evaluations: { versionId: number; status: string }[];
}

describe("evaluation sets", () => {
  it("stores a labelled archive once, scores every version, and predicts each image as predict does", async () => {
    const { name, versions } = await modelWithTwoVersions();
    const files: Record<string, Uint8Array> = {};
    // Plural and capitalised, a synonym, a plural: three images each (the third a larger JPEG).
    let index = 0;
    for (const folder of ["Cats", "car", "ships"])
      for (let k = 0; k < 3; k++, index++)
        files[`my set/${folder}/img${index}.${k === 2 ? "jpg" : "png"}`] = await testImage(
          index,
          k === 2 ? "jpeg" : "png",
        );
    files["my set/Cats/README.txt"] = new TextEncoder().encode("not an image");
    files["my set/notes.txt"] = new TextEncoder().encode("no class folder");
    files["__MACOSX/my set/._img0.png"] = new Uint8Array(10);
    const zip = zipSync(files);

    const response = await post({ name: unique("photos"), model: name, score: "all" }, zip);
    const created = (await response.json()) as { id: number; existing: boolean };
    expect(response.status, JSON.stringify(created)).toBe(202);
    const set = await until(async () => {
      const info = await api.query<SetInfo>("evaluationSet.get", { id: created.id });
      return info.status === "ready" &&
        info.evaluations.every((e) => e.status === "done") &&
        info.evaluations.length === 2
        ? info
        : null;
    }, "the import and both scorings");
    expect(set.imported).toBe(9);
    expect(set.mapping).toEqual({ Cats: "cat", car: "automobile", ships: "ship" });
    expect(set.classes).toEqual([
      { label: "automobile", count: 3 },
      { label: "cat", count: 3 },
      { label: "ship", count: 3 },
    ]);
    expect(set.skipped).toEqual(
      expect.arrayContaining([
        { file: "Cats/README.txt", reason: "the file is not an image: upload a PNG or JPEG" },
        { file: "notes.txt", reason: "not in a class folder" },
      ]),
    );

    // The same archive again: the stored set, not a second copy.
    const again = await post({ name: unique("other-name"), model: name }, zip);
    expect([again.status, ((await again.json()) as { id: number }).id]).toEqual([200, created.id]);

    for (const version of versions) {
      const result = await api.query<{
        total: number;
        accuracy: number;
        confusionMatrix: number[][];
        perClass: { class: number; precision: number; recall: number; f1: number; support: number }[];
        misclassified: { file: string; label: number; predicted: number; probabilities: number[] }[];
      }>("evaluationSet.result", { setId: created.id, versionId: version.id });
      expect(result.total).toBe(9);
      // Each file through the predict endpoint: the same class, the same probabilities.
      const truth: number[] = [];
      const predicted: number[] = [];
      for (const [file, bytes] of Object.entries(files)) {
        if (!/\.(png|jpg)$/.test(file) || file.startsWith("__MACOSX")) continue;
        const relative = file.slice("my set/".length);
        const label = CLASS_NAMES.indexOf(set.mapping[relative.split("/")[0] as string] as never);
        const answer = (await (
          await fetch(new URL(`/api/models/${name}/predict?version=${version.version}`, baseUrl), {
            method: "POST",
            body: new Uint8Array(bytes),
          })
        ).json()) as { probabilities: { class: number; probability: number }[] };
        const top = answer.probabilities[0]?.class as number;
        truth.push(label);
        predicted.push(top);
        const wrong = result.misclassified.find((m) => m.file === relative);
        if (top === label) expect(wrong).toBeUndefined();
        else {
          expect(wrong?.predicted).toBe(top);
          for (const p of answer.probabilities)
            expect(wrong?.probabilities[p.class]).toBeCloseTo(p.probability, 3);
        }
      }
      // The metrics, derived here from the endpoint's predictions.
      expect(result.accuracy).toBeCloseTo(
        truth.filter((t, i) => t === predicted[i]).length / truth.length,
        6,
      );
      for (const c of result.perClass) {
        const tp = truth.filter((t, i) => t === c.class && predicted[i] === c.class).length;
        const support = truth.filter((t) => t === c.class).length;
        const predictedCount = predicted.filter((p) => p === c.class).length;
        expect(c.support).toBe(support);
        expect(c.recall).toBeCloseTo(support ? tp / support : 0, 6);
        expect(c.precision).toBeCloseTo(predictedCount ? tp / predictedCount : 0, 6);
        expect(result.confusionMatrix[c.class]?.reduce((a, b) => a + b, 0)).toBe(support);
      }
    }
    // The dashboard's thumbnails.
    const thumb = await fetch(new URL(`/api/evaluation-sets/${created.id}/images/0`, baseUrl));
    expect([thumb.status, thumb.headers.get("content-type")]).toEqual([200, "image/jpeg"]);
    expect((await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).width).toBeLessThanOrEqual(128);
  });

  it("refuses hostile and unusable archives with a clear error, storing nothing", async () => {
    const { name } = await modelWithTwoVersions();
    const png = await testImage(0, "png");
    const before = await counts();
    const refuse = async (zip: Uint8Array, status: number, message: RegExp, type?: string) => {
      const response = await post({ name: unique("bad"), model: name }, zip, type);
      const body = (await response.json()) as { error: { message: string } };
      expect([response.status, body.error.message]).toEqual([status, expect.stringMatching(message)]);
    };
    await refuse(zipSync({ "cat/../../evil.png": png }), 400, /leads outside it/);
    await refuse(
      zipSync({ "cat/a.png": png, "cat/inner.zip": zipSync({ "x.png": png }) }),
      400,
      /archives inside/,
    );
    await refuse(
      zipSync({ "spaceship/a.png": png, "cat/b.png": png }),
      400,
      /unknown class: "spaceship" \(1 file\)/,
    );
    // Names an object lookup would find on Object.prototype are classes like any other.
    await refuse(
      zipSync({ "constructor/a.png": png, "constructor/b.png": png }),
      400,
      /unknown class: "constructor" \(2 files\)/,
    );
    // A bomb that declares its size: 50 MB of zeros in a few kilobytes.
    await refuse(zipSync({ "cat/a.png": new Uint8Array(50 * 1024 * 1024) }, { level: 9 }), 413, /zip bomb/);
    // A bomb that understates its size: headers patched to declare 1,000 bytes.
    const liar = zipSync({ "cat/a.png": new Uint8Array(4 * 1024 * 1024) }, { level: 9 });
    patchSizes(liar, 1000);
    await refuse(liar, 413, /does not inflate to the size its header declares/);
    // 240 MB declared in plausible ratios: over the 200 MB of a set.
    const large = zipSync(
      Object.fromEntries([1, 2, 3].map((i) => [`cat/${i}.png`, new Uint8Array(randomBytes(1024 * 1024))])),
      { level: 1 },
    );
    patchSizes(large, 80 * 1024 * 1024);
    await refuse(large, 413, /240 MB uncompressed; an evaluation set is at most 200 MB/);
    await refuse(
      zipSync(
        Object.fromEntries(Array.from({ length: 20_001 }, (_, i) => [`cat/${i}.png`, new Uint8Array(1)])),
      ),
      413,
      /20,001 labelled files; an evaluation set is at most 20,000 images/,
    );
    // labels.csv past its bounds is refused before it is parsed (found by reading the code).
    const rows = (n: number) =>
      `file,label\n${Array.from({ length: n }, (_, i) => `${randomBytes(2).toString("hex")}${i}.png,cat`).join("\n")}`;
    const csvZip = (text: string) =>
      zipSync({ "labels.csv": new TextEncoder().encode(text), "a.png": png }, { level: 1 });
    await refuse(csvZip(rows(50_001)), 413, /labels.csv has over 50,000 rows/);
    await refuse(
      csvZip(Array.from({ length: 30_000 }, () => `${randomBytes(100).toString("hex")}.png,cat`).join("\n")),
      413,
      /labels.csv is over 4 MB/,
    );
    await refuse(new TextEncoder().encode("not a zip"), 415, /not a readable zip/);
    await refuse(zipSync({ "cat/a.png": png }), 415, /as a zip archive/, "text/plain");
    const taken = unique("taken");
    expect((await post({ name: taken, model: name }, zipSync({ "cat/a.png": png }))).status).toBe(202);
    const clash = await post({ name: taken, model: name }, zipSync({ "ship/b.png": png }));
    expect(clash.status).toBe(409);
    await until(
      async () => (await db.evaluationSet.findFirst({ where: { name: taken } }))?.status === "ready",
      "the one good set",
    );
    expect(await counts()).toEqual([(before[0] ?? 0) + 1, (before[1] ?? 0) + 1]);
  });

  it("reads a 40,000-row labels.csv, and keeps the first 1,000 skipped names (found by reading the code)", async () => {
    const { name } = await modelWithTwoVersions();
    const rows = [
      "file,label",
      "a.png,cat",
      ...Array.from({ length: 40_000 }, (_, i) => `gone/${i}.png,cat`),
    ];
    const zip = zipSync({
      "labels.csv": new TextEncoder().encode(rows.join("\n")),
      "a.png": await testImage(0, "png"),
    });
    const response = await post({ name: unique("listed"), model: name }, zip);
    const created = (await response.json()) as { id: number };
    expect(response.status, JSON.stringify(created)).toBe(202);
    const info = await api.query<SetInfo>("evaluationSet.get", { id: created.id });
    expect(info.total).toBe(1);
    expect(info.skipped).toHaveLength(1_001);
    expect(info.skipped[0]).toEqual({
      file: "gone/0.png",
      reason: "listed in labels.csv but not in the archive",
    });
    expect(info.skipped.at(-1)).toEqual({ file: "…", reason: "and 39,000 more files skipped" });
  }, 60_000);

  it("labbook evaluate prints the report for a folder, and the same as JSON", async () => {
    const { name, versions } = await modelWithTwoVersions();
    await api.mutation("model.promote", { name, alias: "production", version: 2 });
    const dir = mkdtempSync(path.join(tmpdir(), "labbook-evaluate-"));
    try {
      for (const [folder, index] of [
        ["airplanes", 0],
        ["plane", 1],
        ["frog", 2],
      ] as const) {
        mkdirSync(path.join(dir, folder), { recursive: true });
        writeFileSync(path.join(dir, folder, `${index}.png`), await testImage(index, "png"));
      }
      const run = (args: string[]) =>
        promisify(execFile)(BIN, [
          "evaluate",
          "--url",
          baseUrl,
          "--model",
          `${name}@production`,
          "--images",
          dir,
          ...args,
        ]);
      const text = await run(["--name", unique("cli")]);
      expect(text.stdout).toMatch(new RegExp(`${name} v2 on ".*": accuracy [\\d.]+% of 3 images`));
      expect(text.stdout).toMatch(/airplane\s+[\d.]+%\s+[\d.]+%\s+[\d.]+%\s+2/);
      expect(text.stdout).toMatch(/confusion matrix/);
      // Not a terminal: progress as whole lines, each said once, never rewritten with \r.
      expect(text.stderr).not.toContain("\r");
      const progress = text.stderr.split("\n").filter((line) => /^(importing|scoring) /.test(line));
      expect(new Set(progress).size).toBe(progress.length);
      const json = JSON.parse((await run(["--json"])).stdout) as {
        accuracy: number;
        version: number;
        total: number;
      };
      const stored = await db.setEvaluation.findFirst({
        where: { versionId: versions[1]?.id, set: { name: { startsWith: "cli-" } } },
      });
      expect([json.version, json.total, json.accuracy]).toEqual([2, 3, stored?.accuracy]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Rewrites every entry's declared uncompressed size, in its central and local headers. */
function patchSizes(zip: Uint8Array, size: number) {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = zip.length - 22; // the end-of-directory record (no comment)
  expect(view.getUint32(end, true)).toBe(0x06054b50);
  let at = view.getUint32(end + 16, true);
  for (let n = view.getUint16(end + 10, true); n > 0; n--) {
    view.setUint32(at + 24, size, true);
    view.setUint32(view.getUint32(at + 42, true) + 22, size, true);
    at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
}
