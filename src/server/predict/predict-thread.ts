// The prediction thread: decodes, preprocesses and classifies one job at a time (an upload, or
// a batch of an evaluation set), so a large photo or a slow forward pass never holds up the
// server's event loop (API, pages, heartbeats).
import { parentPort } from "node:worker_threads";
import { selectBackend } from "@/trainer/backend";
import { lowerThreadPriority, PREDICTION_NICE } from "@/trainer/priority";
import { cachedVersions } from "./classify";
import { ImageInputError } from "./decode";
import { runJob } from "./jobs";
import type { ThreadJob, ThreadReply } from "./protocol";

const port = parentPort;
if (!port) throw new Error("predict-thread.ts runs as a worker thread");

// The trainer's fastest backend (native convolutions where built, else wasm, else cpu): a
// forward pass of one image takes a few milliseconds instead of hundreds on tfjs' cpu backend.
// One thread: the cores belong to the server and the training workers.
// Below the server's priority and above training's: a burst of large photos (and libvips'
// threads, which this thread starts) must not hold up the API on a busy machine.
lowerThreadPriority(PREDICTION_NICE);
const backend = selectBackend("auto", 1);

async function run({ id, ...job }: ThreadJob): Promise<ThreadReply> {
  try {
    await backend;
    return { id, cached: cachedVersions(), ok: true, ...(await runJob(job)) };
  } catch (error) {
    const status = ImageInputError.is(error) ? error.status : null;
    return { id, cached: cachedVersions(), ok: false, status, message: (error as Error).message };
  }
}

/** Large results go back without a copy. */
function transfers(reply: ThreadReply): ArrayBuffer[] {
  if (!reply.ok) return [];
  if (reply.kind === "classify") return [reply.probabilities.buffer as ArrayBuffer];
  if (reply.kind === "prepare")
    return reply.images.flatMap((image) =>
      image.ok ? [image.pixels.buffer as ArrayBuffer, image.thumbnail.buffer as ArrayBuffer] : [],
    );
  return [];
}

// One job at a time, in arrival order.
let queue = Promise.resolve();
port.on("message", (job: ThreadJob) => {
  queue = queue.then(async () => {
    const reply = await run(job);
    port.postMessage(reply, transfers(reply));
  });
});
port.postMessage({ ready: true });
