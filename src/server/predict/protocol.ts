// Messages between the server and its prediction thread.
import type { Prediction } from "@/features/predict/preprocess";
import type { ModelBytes } from "./classify";

export interface PredictJob {
  id: number;
  versionId: number;
  /** Sent when the thread does not hold this version yet. */
  model?: ModelBytes;
  bytes: Uint8Array;
}

export type PredictReply = { id: number; cached: number[] } & (
  | { ok: true; width: number; height: number; predictions: Prediction[]; ms: number }
  | { ok: false; status: number | null; message: string }
);
