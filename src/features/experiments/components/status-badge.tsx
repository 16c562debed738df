import type { RunStatus } from "@/shared/run-status";

const STYLES: Record<RunStatus, string> = {
  queued: "bg-slate-100 text-slate-700",
  running: "bg-blue-100 text-blue-800",
  succeeded: "bg-emerald-100 text-emerald-800",
  failed: "bg-red-100 text-red-800",
  cancelled: "bg-amber-100 text-amber-800",
};

export function StatusBadge({ status, count }: { status: RunStatus; count?: number }) {
  return (
    <span
      className={`inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs font-medium ${STYLES[status]}`}
    >
      {count !== undefined && <span>{count}</span>}
      {status}
    </span>
  );
}
