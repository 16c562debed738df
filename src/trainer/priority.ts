// Training is background work on a machine it may share with Labbook's server, PostgreSQL and
// a worker's heartbeats: the thread that trains runs at a lower CPU priority, and so do the
// threads it starts (the native kernels' OpenMP pool inherits it). On a busy 2-core machine a
// heartbeat waited more than a second behind two training threads at the same priority.
import os from "node:os";

/** The nice value a training thread takes by default (LABBOOK_TRAINING_NICE; 0 keeps normal priority). */
export const DEFAULT_TRAINING_NICE = 10;

/** The server's prediction thread: behind the API's event loop, ahead of training. */
export const PREDICTION_NICE = 5;

export function trainingNice(env: Record<string, string | undefined> = process.env): number {
  const raw = env.LABBOOK_TRAINING_NICE;
  if (raw === undefined || raw === "") return DEFAULT_TRAINING_NICE;
  const nice = Number(raw);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19)
    throw new Error(`LABBOOK_TRAINING_NICE must be a whole number from 0 to 19, got ${raw}`);
  return nice;
}

/**
 * Raises the calling thread's nice value to `nice` (Linux keeps one per thread: the process's
 * other threads keep theirs). Call it before the first native kernel runs, so that the thread
 * pool it starts inherits it. Returns the thread's nice value afterwards.
 */
export function lowerThreadPriority(nice = trainingNice()): number {
  try {
    if (os.getPriority(0) < nice) os.setPriority(0, nice);
  } catch {
    // Not permitted or not supported here: train at the priority there is.
  }
  return os.getPriority(0);
}
