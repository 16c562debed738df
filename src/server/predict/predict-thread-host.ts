// Runs predictions and evaluation-set batches in a worker thread (predict-thread.ts), one job
// at a time, with at most MAX_WAITING uploads queued: past that the server is busy, and says so
// (503), rather than holding every upload in memory. Evaluation runners send one batch at a
// time, so an upload waits for at most one batch.
import { Worker } from "node:worker_threads";
import type { ModelBytes } from "./classify";
import { ImageInputError } from "./decode";
import type { JobBody } from "./jobs";
import type { ClassifiedPixels, Predictor, PredictResult } from "./predictor";
import type { JobResult, PreparedOrError, ThreadJob, ThreadReply } from "./protocol";

const MAX_WAITING = 8;

type Result<K extends JobResult["kind"]> = Extract<JobResult, { kind: K }>;

export class PredictThread implements Predictor {
  private thread: Worker | null = null;
  private readonly pending = new Map<number, (reply: ThreadReply) => void>();
  private waitingUploads = 0;
  /** Versions the thread holds, as of its last reply. */
  private known = new Set<number>();
  private readonly reading = new Map<number, Promise<ModelBytes>>();
  private nextId = 1;

  private start(): Worker {
    const thread = new Worker(new URL("../../shared/thread-boot.mjs", import.meta.url), {
      workerData: { entry: new URL("./predict-thread.ts", import.meta.url).href },
    });
    thread.on("message", (reply: ThreadReply | { ready: true }) => {
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

  private async send<K extends JobResult["kind"]>(body: JobBody & { kind: K }, transfer: ArrayBuffer[]) {
    const job = { ...body, id: this.nextId++ } as ThreadJob;
    this.thread ??= this.start();
    const reply = new Promise<ThreadReply>((resolve) => this.pending.set(job.id, resolve));
    this.thread.postMessage(job, transfer);
    const answer = await reply;
    if (answer.ok) return answer as unknown as Result<K>;
    if (answer.status) throw new ImageInputError(answer.status as ImageInputError["status"], answer.message);
    throw new Error(answer.message);
  }

  /** A version's bytes, read once for uploads that arrive together before the thread holds it. */
  private modelBytes(versionId: number, model: () => Promise<ModelBytes>): Promise<ModelBytes> {
    let bytes = this.reading.get(versionId);
    if (!bytes) {
      bytes = model().finally(() => this.reading.delete(versionId));
      this.reading.set(versionId, bytes);
    }
    return bytes;
  }

  /** A job for one model version: with its bytes when the thread lacks it, and once more if evicted. */
  private async withModel<K extends "predict" | "classify">(
    versionId: number,
    model: () => Promise<ModelBytes>,
    send: (model: ModelBytes | undefined) => Promise<Result<K>>,
  ): Promise<Result<K>> {
    try {
      return await send(this.known.has(versionId) ? undefined : await this.modelBytes(versionId, model));
    } catch (error) {
      if (!/is not loaded/.test((error as Error).message)) throw error;
      return send(await this.modelBytes(versionId, model));
    }
  }

  async predict(
    versionId: number,
    bytes: Uint8Array,
    model: () => Promise<ModelBytes>,
  ): Promise<PredictResult> {
    if (this.waitingUploads >= MAX_WAITING)
      throw new ImageInputError(503, "the server is busy with other predictions; try again in a moment");
    this.waitingUploads++;
    try {
      const { width, height, predictions, ms } = await this.withModel<"predict">(versionId, model, (m) => {
        const copy = new Uint8Array(bytes);
        return this.send({ kind: "predict", versionId, model: m, bytes: copy }, [copy.buffer as ArrayBuffer]);
      });
      return { width, height, predictions, ms };
    } finally {
      this.waitingUploads--;
    }
  }

  async prepare(images: Uint8Array[]): Promise<PreparedOrError[]> {
    return (await this.send({ kind: "prepare", images }, [])).images;
  }

  async classify(
    versionId: number,
    pixels: Float32Array,
    count: number,
    model: () => Promise<ModelBytes>,
  ): Promise<ClassifiedPixels> {
    const { probabilities, classNames } = await this.withModel<"classify">(versionId, model, (m) =>
      this.send({ kind: "classify", versionId, model: m, pixels, count }, []),
    );
    return { probabilities, classNames };
  }

  async close(): Promise<void> {
    await this.thread?.terminate();
  }
}
