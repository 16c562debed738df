// The run lifecycle, shared by the server (which enforces it) and the dashboard.
export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * The only transitions the server allows. running → queued is a lease expiring (retry) or a
 * worker handing its run back; cancelled/failed → queued is a resume from the checkpoint.
 */
export const RUN_TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ["running", "cancelled"],
  running: ["succeeded", "failed", "cancelled", "queued"],
  succeeded: [],
  failed: ["queued"],
  cancelled: ["queued"],
};

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}
