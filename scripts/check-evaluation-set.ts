// Uses an evaluation set as a user would, at scale, against a running Labbook (`npm start`):
// registers a model trained by `labbook train --out DIR`, uploads the first N real CIFAR-10
// test images as a zip in plural-named class folders (even indices as 32×32 PNG, odd ones
// enlarged to 256×256 JPEG), scores the model, and prints the import and scoring rates and the
// accuracy on each half next to the trainer's own test evaluation of the same images
// (DIR/evaluation.json). The PNG half is byte for byte the trainer's input, so it must agree.
//
//   npx tsx scripts/check-evaluation-set.ts --url http://127.0.0.1:3000 --run-dir DIR [--count 2000]
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { zipSync } from "fflate";
import sharp from "sharp";
import { createDb } from "../src/server/db/client";
import { openDatabase } from "../src/server/db/open";
import { CLASS_NAMES } from "../src/shared/cifar10-classes";
import { defaultDataDir, RECORD_BYTES, recordRgb, TEST_FILE } from "../src/trainer/data/cifar10-format";
import { LabbookClient } from "../src/trainer/worker/client";
import { asTheirWorker } from "../test/helpers/held-run";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:3000" },
    "run-dir": { type: "string" },
    count: { type: "string", default: "2000" },
  },
});
const runDir = path.resolve(values["run-dir"] ?? "");
const count = Number(values.count);
const api = new LabbookClient(values.url ?? "", process.env.LABBOOK_TOKEN, 600_000);
const database = await openDatabase();
const db = createDb(database.url);

// The trained model, registered as a worker would have reported it.
const config = JSON.parse(readFileSync(path.join(runDir, "config.json"), "utf8"));
const summary = JSON.parse(readFileSync(path.join(runDir, "summary.json"), "utf8")) as {
  testAccuracy: number;
};
const name = `check-${Date.now()}`;
const { runIds } = await api.mutation<{ runIds: number[] }>("experiment.create", {
  name,
  runs: [{ name: "trained by labbook train", config }],
});
const runId = runIds[0] as number;
await asTheirWorker(db, [runId], async () => {
  await api.upload(runId, "weights.bin", "model", readFileSync(path.join(runDir, "model", "weights.bin")));
  await api.upload(
    runId,
    "model.json",
    "model",
    readFileSync(path.join(runDir, "model", "model.json")),
    "application/json",
  );
});
await db.run.update({
  where: { id: runId },
  data: { status: "succeeded", testAccuracy: summary.testAccuracy, finishedAt: new Date() },
});
await api.mutation("model.register", { runId, name });

// The images, as a user's folders would hold them.
const records = readFileSync(path.join(defaultDataDir(), TEST_FILE));
const plural = (label: string) => `${label[0]?.toUpperCase()}${label.slice(1)}s`;
const files: Record<string, Uint8Array> = {};
const labels: number[] = [];
for (let i = 0; i < count; i++) {
  const record = records.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES);
  const label = record[0] as number;
  labels.push(label);
  const image = sharp(recordRgb(record), { raw: { width: 32, height: 32, channels: 3 } });
  files[`${plural(CLASS_NAMES[label] as string)}/${i}.${i % 2 ? "jpg" : "png"}`] = new Uint8Array(
    i % 2 ? await image.resize(256, 256).jpeg({ quality: 90 }).toBuffer() : await image.png().toBuffer(),
  );
}
const zip = zipSync(files, { level: 0 });

const started = performance.now();
const response = await fetch(
  new URL(`/api/evaluation-sets?${new URLSearchParams({ name, model: name, score: "all" })}`, values.url),
  { method: "POST", headers: { "content-type": "application/zip" }, body: zip },
);
const created = (await response.json()) as { id: number };
if (response.status !== 202) throw new Error(`upload refused: ${JSON.stringify(created)}`);
const uploaded = performance.now();
type SetInfo = { status: string; imported: number; evaluations: { status: string; versionId: number }[] };
let info: SetInfo;
let imported = 0;
for (;;) {
  info = await api.query<SetInfo>("evaluationSet.get", { id: created.id });
  if (info.status === "ready" && !imported) imported = performance.now();
  if (info.evaluations[0]?.status === "done" || info.evaluations[0]?.status === "failed") break;
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const scored = performance.now();
const versionId = info.evaluations[0]?.versionId;
const result = await api.query<{
  accuracy: number;
  misclassified: { file: string }[];
}>("evaluationSet.result", { setId: created.id, versionId });

const wrong = new Set(result.misclassified.map((m) => Number(path.basename(m.file).split(".")[0])));
const trainer = JSON.parse(readFileSync(path.join(runDir, "evaluation.json"), "utf8")) as {
  count: number;
  misclassified: { index: number }[];
};
const trainerWrong = new Set(trainer.misclassified.map((m) => m.index));
const half = (parity: number) => labels.map((_, i) => i).filter((i) => i % 2 === parity && i < trainer.count);
const accuracy = (indices: number[], misses: Set<number>) =>
  `${((100 * indices.filter((i) => !misses.has(i)).length) / indices.length).toFixed(2)}%`;
const disagree = half(0).filter((i) => wrong.has(i) !== trainerWrong.has(i)).length;

console.log(`zip of ${count} real CIFAR-10 test images: ${(zip.length / 1024 / 1024).toFixed(1)} MB`);
console.log(
  `upload ${((uploaded - started) / 1000).toFixed(1)} s (checks and labels included); import ${((imported - uploaded) / 1000).toFixed(1)} s (${(count / ((imported - uploaded) / 1000)).toFixed(0)} images/s); scoring ${((scored - imported) / 1000).toFixed(1)} s (${(count / ((scored - imported) / 1000)).toFixed(0)} images/s)`,
);
console.log(`accuracy on the set: ${(100 * result.accuracy).toFixed(2)}%`);
console.log(
  `32×32 PNG half: ${accuracy(half(0), wrong)} (trainer's own test evaluation of the same images: ${accuracy(half(0), trainerWrong)}; ${disagree} of ${half(0).length} images judged differently)`,
);
console.log(
  `256×256 JPEG half: ${accuracy(half(1), wrong)} (trainer, from the original 32×32: ${accuracy(half(1), trainerWrong)})`,
);
await db.$disconnect();
