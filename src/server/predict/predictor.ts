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

export interface PredictResult {
  width: number;
  height: number;
  predictions: Prediction[];
  ms: number;
}

export interface Predictor {
  predict(versionId: number, bytes: Uint8Array, model: () => Promise<ModelBytes>): Promise<PredictResult>;
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
  return { json: json.data, weights: weights.data };
}

/** Decoding and the forward pass in this process: only when no prediction thread was installed. */
const inProcess: Predictor = {
  async predict(versionId, bytes, model) {
    const [{ decodeImage }, { classify, cachedVersions, loadVersion }] = await Promise.all([
      import("./decode"),
      import("./classify"),
    ]);
    if (!cachedVersions().includes(versionId)) {
      const tf = await import("@tensorflow/tfjs");
      await tf.setBackend("cpu");
      await loadVersion(versionId, await model());
    }
    const image = await decodeImage(Buffer.from(bytes));
    return { width: image.width, height: image.height, ...(await classify(versionId, image)) };
  },
};

export async function predictUpload(db: Db, version: { id: number; runId: number }, bytes: Uint8Array) {
  return (store.labbookPredictor ?? inProcess).predict(version.id, bytes, () => modelBytes(db, version));
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
