// Messages between the server and its prediction thread: one upload to classify, a batch of
// evaluation-set images to prepare, or a batch of prepared images to classify.
import type { Prediction } from "@/features/predict/preprocess";
import type { ModelBytes } from "./classify";

export type ThreadJob = { id: number } & (
  | {
      kind: "predict";
      versionId: number;
      /** Sent when the thread does not hold this version yet. */
      model?: ModelBytes;
      bytes: Uint8Array;
    }
  | { kind: "prepare"; images: Uint8Array[] }
  | { kind: "classify"; versionId: number; model?: ModelBytes; pixels: Float32Array; count: number }
);

export type PreparedOrError =
  | { ok: true; pixels: Float32Array; thumbnail: Uint8Array }
  | { ok: false; status: number | null; message: string };

export type JobResult =
  | { kind: "predict"; width: number; height: number; predictions: Prediction[]; ms: number }
  | { kind: "prepare"; images: PreparedOrError[] }
  | { kind: "classify"; probabilities: Float32Array; classNames: string[] };

export type ThreadReply = { id: number; cached: number[] } & (
  | ({ ok: true } & JobResult)
  | { ok: false; status: number | null; message: string }
);
