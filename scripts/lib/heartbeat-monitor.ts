// Watches running runs in the database and measures their workers' heartbeats: each
// heartbeat sets leaseExpiresAt to the server's now + lease, so consecutive values give the
// exact time between heartbeats (on the server's clock), whatever the sampling rate below the
// heartbeat interval. Also records which workers held each run. Used by tests and the soak.
import type pg from "pg";

export interface HeartbeatGap {
  runId: number;
  workerId: number;
  gapMs: number;
  /** When the late heartbeat arrived. */
  at: Date;
}

export interface HeartbeatReport {
  /** Every gap between two heartbeats (or the claim and the first heartbeat) of one run and worker. */
  gaps: HeartbeatGap[];
  maxGap: HeartbeatGap | null;
  /** The workers seen holding each run. */
  holders: Map<number, Set<number>>;
}

export function watchHeartbeats(pool: pg.Pool, everyMs = 200): { stop(): Promise<HeartbeatReport> } {
  const last = new Map<string, number>();
  const gaps: HeartbeatGap[] = [];
  const holders = new Map<number, Set<number>>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await pool
        .query<{ id: number; workerId: number; leaseExpiresAt: Date }>(
          `SELECT id, "workerId", "leaseExpiresAt" FROM "Run"
           WHERE status = 'running' AND "workerId" IS NOT NULL AND "leaseExpiresAt" IS NOT NULL`,
        )
        .then((result) => result.rows)
        .catch(() => []); // the database restarting: sample again next time
      for (const row of rows) {
        const seen = holders.get(row.id) ?? new Set<number>();
        holders.set(row.id, seen.add(row.workerId));
        const key = `${row.id}:${row.workerId}`;
        const lease = row.leaseExpiresAt.getTime();
        const previous = last.get(key);
        if (previous !== undefined && lease > previous)
          gaps.push({ runId: row.id, workerId: row.workerId, gapMs: lease - previous, at: new Date() });
        if (previous === undefined || lease > previous) last.set(key, lease);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const maxGap = gaps.reduce<HeartbeatGap | null>(
        (max, g) => (!max || g.gapMs > max.gapMs ? g : max),
        null,
      );
      return { gaps, maxGap, holders };
    },
  };
}
