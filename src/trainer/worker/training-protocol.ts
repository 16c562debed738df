// Messages between a worker's control thread and its training thread. The control thread
// speaks to the server (heartbeats, reports, signals); the training thread owns tfjs and may
// block for as long as a step or an evaluation pass takes.

import type { Evaluation } from "../../shared/scoring";
import type { BackendName } from "../backend";
import type { BatchProgress, EpochMetrics } from "../train";

export interface TrainingThreadOptions {
  backend: BackendName | "auto";
  dataDir: string;
  fetchData: boolean;
  dataCheck: "official" | "format";
  /** One Int32: non-zero asks the current run to stop. Shared, so it is read without a message. */
  control: SharedArrayBuffer;
  /** Tests: block the thread after every batch (see TrainOptions.blockAfterBatchMs). */
  blockAfterBatchMs?: number;
}

export interface TrainJob {
  config: unknown;
  checkpointDir: string;
  /** Upload the run page's layer summary, dataset and preview (not on a resume). */
  sendRunInfo: boolean;
}

export interface RunFile {
  name: string;
  bytes: Uint8Array;
  contentType: string;
}

export type ToTrainingThread = { type: "train"; job: TrainJob };

export type FromTrainingThread =
  | { type: "ready"; backend: BackendName; skipped: string[] }
  | { type: "startFailed"; error: string }
  | { type: "log"; message: string; level: "info" | "warn" | "error"; time: string }
  | { type: "runInfo"; files: RunFile[] }
  | { type: "batch"; progress: BatchProgress }
  | { type: "epoch"; metrics: EpochMetrics; test?: Evaluation; checkpoint: Uint8Array | null }
  | {
      type: "finished";
      modelJson: Uint8Array;
      weights: Uint8Array;
      test: Evaluation | null;
      modelEpoch: number;
    }
  | { type: "stopped" }
  | { type: "failed"; error: string };

/** Index of the stop flag in the control array. */
export const STOP_FLAG = 0;
