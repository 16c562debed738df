// Evaluation-set imports and scorings run in the background, one at a time, in the server's
// process; their heavy parts (decoding, the forward passes) run in the prediction thread. The
// queue lives on globalThis: the HTTP server and Next.js's bundle each load their own copy of
// this module.
type Job = { key: string; run: () => Promise<void> };

const store = globalThis as unknown as {
  labbookEvaluationQueue?: { jobs: Job[]; running: string | null };
};

const queue = () => {
  store.labbookEvaluationQueue ??= { jobs: [], running: null };
  return store.labbookEvaluationQueue;
};

/** Queues `run` under `key` unless a job with that key is already waiting or running. */
export function enqueue(key: string, run: () => Promise<void>): void {
  const q = queue();
  if (q.running === key || q.jobs.some((job) => job.key === key)) return;
  q.jobs.push({ key, run });
  if (!q.running) void drain();
}

async function drain(): Promise<void> {
  const q = queue();
  for (let job = q.jobs.shift(); job; job = q.jobs.shift()) {
    q.running = job.key;
    try {
      await job.run();
    } catch (error) {
      // Each job records its own failure; this only keeps the queue going.
      console.error(`evaluation job ${job.key} failed:`, error);
    }
  }
  q.running = null;
}

export const isQueued = (key: string) => {
  const q = queue();
  return q.running === key || q.jobs.some((job) => job.key === key);
};

/** Jobs waiting or running whose key starts with `prefix` (imports hold their archive in memory). */
export const countQueued = (prefix: string) => {
  const q = queue();
  return q.jobs.filter((job) => job.key.startsWith(prefix)).length + (q.running?.startsWith(prefix) ? 1 : 0);
};
