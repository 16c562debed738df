// Runs predictions in a worker thread (predict-thread.ts), one at a time, with at most
// MAX_WAITING uploads queued: past that the server is busy, and says so (503), rather than
// holding every upload in memory.
import { Worker } from "node:worker_threads";
import type { ModelBytes } from "./classify";
import { ImageInputError } from "./decode";
import type { Predictor, PredictResult } from "./predictor";
import type { PredictJob, PredictReply } from "./protocol";

const MAX_WAITING = 8;

export class PredictThread implements Predictor {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, (reply: PredictReply) => void>();
  /** Versions the thread holds, as of its last reply. */
  private known = new Set<number>();
  private nextId = 1;

  private start(): Worker {
    const thread = new Worker(new URL("../../shared/thread-boot.mjs", import.meta.url), {
      workerData: { entry: new URL("./predict-thread.ts", import.meta.url).href },
    });
    thread.on("message", (reply: PredictReply | { ready: true }) => {
      if ("ready" in reply) return;
      this.known = new Set(reply.cached);
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    const stopped = (why: string) => {
      if (this.thread !== thread) return;
      this.thread = null;
      this.known.clear();
      for (const [id, settle] of this.pending)
        settle({ id, cached: [], ok: false, status: null, message: `the prediction thread stopped: ${why}` });
      this.pending.clear();
    };
    thread.on("error", (error) => stopped(error.message));
    thread.on("exit", (code) => stopped(`exit code ${code}`));
    // An idle prediction thread must not keep the server alive at shutdown.
    thread.unref();
    return thread;
  }

  async predict(
    versionId: number,
    bytes: Uint8Array,
    model: () => Promise<ModelBytes>,
  ): Promise<PredictResult> {
    if (this.pending.size >= MAX_WAITING)
      throw new ImageInputError(503, "the server is busy with other predictions; try again in a moment");
    const send = async (withModel: boolean) => {
      const job: PredictJob = {
        id: this.nextId++,
        versionId,
        model: withModel ? await model() : undefined,
        bytes: new Uint8Array(bytes),
      };
      this.thread ??= this.start();
      const reply = new Promise<PredictReply>((resolve) => this.pending.set(job.id, resolve));
      this.thread.postMessage(job, [job.bytes.buffer as ArrayBuffer]);
      return reply;
    };
    let reply = await send(!this.known.has(versionId));
    // Evicted between our last look and this job: send the model along and try once more.
    if (!reply.ok && /is not loaded/.test(reply.message)) reply = await send(true);
    if (reply.ok)
      return { width: reply.width, height: reply.height, predictions: reply.predictions, ms: reply.ms };
    if (reply.status) throw new ImageInputError(reply.status as ImageInputError["status"], reply.message);
    throw new Error(reply.message);
  }

  async close(): Promise<void> {
    await this.thread?.terminate();
  }
}
