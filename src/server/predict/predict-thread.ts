// The prediction thread: decodes, preprocesses and classifies one upload at a time, so a large
// photo or a slow forward pass never holds up the server's event loop (API, pages, heartbeats).
import { parentPort } from "node:worker_threads";
import { selectBackend } from "@/trainer/backend";
import { cachedVersions, classify, loadVersion } from "./classify";
import { decodeImage, ImageInputError } from "./decode";
import type { PredictJob, PredictReply } from "./protocol";

const port = parentPort;
if (!port) throw new Error("predict-thread.ts runs as a worker thread");

// The trainer's fastest backend (native convolutions where built, else wasm, else cpu): a
// forward pass of one image takes a few milliseconds instead of hundreds on tfjs' cpu backend.
// One thread: the cores belong to the server and the training workers.
const backend = selectBackend("auto", 1);

async function run(job: PredictJob): Promise<PredictReply> {
  try {
    await backend;
    if (job.model) await loadVersion(job.versionId, job.model);
    const image = await decodeImage(
      Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength),
    );
    const result = await classify(job.versionId, image);
    return {
      id: job.id,
      cached: cachedVersions(),
      ok: true,
      width: image.width,
      height: image.height,
      ...result,
    };
  } catch (error) {
    const status = error instanceof ImageInputError ? error.status : null;
    return { id: job.id, cached: cachedVersions(), ok: false, status, message: (error as Error).message };
  }
}

// One job at a time, in arrival order.
let queue = Promise.resolve();
port.on("message", (job: PredictJob) => {
  queue = queue.then(async () => port.postMessage(await run(job)));
});
port.postMessage({ ready: true });
