// The route's way to classify an upload: through the prediction thread that Labbook's HTTP
// server starts (predict-thread-host.ts), or, when the app runs without that server, in this
// process. Either way one model version's artifacts are read from the database once.
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Prediction } from "@/features/predict/preprocess";
import { isLoopback } from "@/server/auth/tokens";
import type { Db } from "@/server/db/client";
import { readArtifact } from "@/server/services/artifacts";
import type { ModelBytes } from "./classify";
import { ImageInputError } from "./decode";
import type { JobBody } from "./jobs";
import type { PreparedOrError } from "./protocol";

export interface PredictResult {
  width: number;
  height: number;
  predictions: Prediction[];
  ms: number;
}

export interface ClassifiedPixels {
  /** Row-major [count, classes]. */
  probabilities: Float32Array;
  classNames: string[];
}

export interface Predictor {
  predict(versionId: number, bytes: Uint8Array, model: () => Promise<ModelBytes>): Promise<PredictResult>;
  /** Evaluation-set images: each decoded and made into the model's input, or why not. */
  prepare(images: Uint8Array[]): Promise<PreparedOrError[]>;
  /** Prepared images (toInputPixels) through one model version, as one batch. */
  classify(
    versionId: number,
    pixels: Float32Array,
    count: number,
    model: () => Promise<ModelBytes>,
  ): Promise<ClassifiedPixels>;
}

/** Shared by the HTTP server and the Next.js route code in the same process. */
const store = globalThis as unknown as { labbookPredictor?: Predictor };

export function installPredictor(predictor: Predictor): void {
  store.labbookPredictor = predictor;
}

export async function modelBytes(db: Db, version: { runId: number }): Promise<ModelBytes> {
  const [json, weights] = await Promise.all([
    readArtifact(db, version.runId, "model.json"),
    readArtifact(db, version.runId, "weights.bin"),
  ]);
  if (!json || !weights) throw new Error(`run ${version.runId} lacks model.json or weights.bin`);
  return { json, weights };
}

/** Decoding and the forward pass in this process: only when no prediction thread was installed. */
const inProcess: Predictor = (() => {
  const run = async (job: JobBody, model?: { versionId: number; bytes: () => Promise<ModelBytes> }) => {
    const [{ runJob }, { cachedVersions, loadVersion }, tf] = await Promise.all([
      import("./jobs"),
      import("./classify"),
      import("@tensorflow/tfjs"),
    ]);
    if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
    if (model && !cachedVersions().includes(model.versionId))
      await loadVersion(model.versionId, await model.bytes());
    return runJob(job);
  };
  return {
    async predict(versionId, bytes, model) {
      const result = await run({ kind: "predict", versionId, bytes }, { versionId, bytes: model });
      if (result.kind !== "predict") throw new Error("unexpected job result");
      return { width: result.width, height: result.height, predictions: result.predictions, ms: result.ms };
    },
    async prepare(images) {
      const result = await run({ kind: "prepare", images });
      if (result.kind !== "prepare") throw new Error("unexpected job result");
      return result.images;
    },
    async classify(versionId, pixels, count, model) {
      const result = await run({ kind: "classify", versionId, pixels, count }, { versionId, bytes: model });
      if (result.kind !== "classify") throw new Error("unexpected job result");
      return { probabilities: result.probabilities, classNames: result.classNames };
    },
  };
})();

/** The installed prediction thread, or this process. */
export const predictor = (): Predictor => store.labbookPredictor ?? inProcess;

export async function predictUpload(db: Db, version: { id: number; runId: number }, bytes: Uint8Array) {
  return predictor().predict(version.id, bytes, () => modelBytes(db, version));
}

/**
 * 100 predictions per 10 s per client address; this machine is not limited (it may write,
 * and its scripts time the server). Many images are an evaluation job, not a loop.
 */
const LIMIT = { points: 100, duration: 10 };
const perAddress = new RateLimiterMemory({ keyPrefix: "predict", ...LIMIT });

export async function throttlePredictions(address: string | null): Promise<void> {
  if (isLoopback(address)) return;
  try {
    await perAddress.consume(address ?? "unknown");
  } catch (error) {
    if (!(error instanceof RateLimiterRes)) throw error;
    const retryAfterS = Math.ceil(error.msBeforeNext / 1000);
    throw new ImageInputError(
      429,
      `too many predictions from this address (${LIMIT.points} per ${LIMIT.duration} s); try again in ${retryAfterS} s`,
      retryAfterS,
    );
  }
}
