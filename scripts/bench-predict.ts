// Prediction latency through the real server (POST /api/models/<name>/predict: body read,
// libvips decode in the prediction thread, preprocessing, the forward pass on the trainer's
// fastest backend), next to the previous path measured in this process on the same images and
// model: pngjs / jpeg-js decode and tfjs' cpu backend, on the main thread.
//
//   npx tsx scripts/bench-predict.ts [--small 200] [--photos 10]
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import sharp from "sharp";
import { readModelMetadata, toModelInput } from "../src/features/predict/preprocess";
import { startEmbeddedPostgres } from "../src/server/db/embedded-postgres";
import { startFuzzTarget } from "../test/helpers/api-fuzz";

const { values } = parseArgs({
  options: { small: { type: "string", default: "200" }, photos: { type: "string", default: "10" } },
});

function noise(width: number, height: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  // Smooth gradients plus fine texture: compresses like a photo, not like flat colour or noise.
  for (let y = 0, i = 0; y < height; y++)
    for (let x = 0; x < width; x++, i += 3) {
      const t = ((x * 7919 + y * 104729) >>> 3) & 31;
      raw[i] = ((x * 255) / width + t) & 255;
      raw[i + 1] = ((y * 255) / height + t) & 255;
      raw[i + 2] = (((x + y) * 128) / (width + height) + 2 * t) & 255;
    }
  return raw;
}

const images = [
  {
    name: "CIFAR-sized PNG 32×32",
    n: Number(values.small),
    bytes: await sharp(noise(32, 32), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer(),
  },
  {
    name: "phone JPEG 3000×1687 (progressive)",
    n: Number(values.photos),
    bytes: await sharp(noise(3000, 1687), { raw: { width: 3000, height: 1687, channels: 3 } })
      .jpeg({ quality: 90, progressive: true })
      .toBuffer(),
  },
  {
    name: "phone JPEG 3865×2174 (progressive)",
    n: Number(values.photos),
    bytes: await sharp(noise(3865, 2174), { raw: { width: 3865, height: 2174, channels: 3 } })
      .jpeg({ quality: 90, progressive: true })
      .toBuffer(),
  },
];

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? Number.NaN;

const dir = mkdtempSync(path.join(tmpdir(), "labbook-bench-predict-"));
chmodSync(dir, 0o755);
const cluster = await startEmbeddedPostgres({ dir: path.join(dir, "pg") });
const target = await startFuzzTarget(cluster.adminUrl);
try {
  const url = new URL(`/api/models/${target.targets.modelName}/predict`, target.baseUrl);
  // The same model, loaded here on tfjs' cpu backend for the previous path.
  await tf.setBackend("cpu");
  const model = await tf.loadLayersModel(`${target.baseUrl}/api/runs/1/artifacts/model.json`, {
    weightUrlConverter: async () => `${target.baseUrl}/api/runs/1/artifacts/weights.bin`,
  });
  const meta = readModelMetadata(model);
  const oldPath = async (bytes: Buffer) => {
    const image =
      bytes[0] === 0x89
        ? PNG.sync.read(bytes)
        : jpeg.decode(bytes, { useTArray: true, maxMemoryUsageInMB: 1024 });
    const input = toModelInput(tf, image, meta.normalizer);
    const output = model.predict(input) as tf.Tensor;
    await output.data();
    tf.dispose([input, output]);
  };
  // Warm both paths (model load, kernels) before timing.
  await fetch(url, { method: "POST", body: new Uint8Array(images[0]?.bytes ?? []) });
  await oldPath(images[0]?.bytes as Buffer);

  console.log(`| image | bytes | server p50 | server p95 | previous path p50 | speed-up |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const image of images) {
    const server: number[] = [];
    const previous: number[] = [];
    for (let i = 0; i < image.n; i++) {
      const started = performance.now();
      const response = await fetch(url, { method: "POST", body: new Uint8Array(image.bytes) });
      if (response.status !== 200)
        throw new Error(`predict answered ${response.status}: ${await response.text()}`);
      await response.json();
      server.push(performance.now() - started);
      // The previous path is slow on photos: a few samples tell enough.
      if (i < Math.min(image.n, 5)) {
        const t = performance.now();
        await oldPath(image.bytes);
        previous.push(performance.now() - t);
      }
    }
    const [p50, p95, old] = [percentile(server, 0.5), percentile(server, 0.95), percentile(previous, 0.5)];
    console.log(
      `| ${image.name} | ${(image.bytes.length / 1024).toFixed(0)} KiB | ${p50.toFixed(1)} ms | ${p95.toFixed(1)} ms | ${old.toFixed(1)} ms | ${(old / p50).toFixed(1)}× |`,
    );
  }
  console.log(`\nserver log, backend line: ${target.output().match(/.*backend.*/)?.[0] ?? "(none printed)"}`);
} finally {
  await target.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
