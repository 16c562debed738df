"use client";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { formatAgo, formatNumber, formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import type { RunSortField } from "@/shared/experiments";
import { RUN_STATUSES, type RunStatus } from "@/shared/run-status";
import { StatusBadge } from "./status-badge";

const COLUMNS: { field: RunSortField; label: string; numeric?: boolean }[] = [
  { field: "id", label: "#", numeric: true },
  { field: "name", label: "Run" },
  { field: "status", label: "Status" },
  { field: "normalization", label: "Norm." },
  { field: "learningRate", label: "LR", numeric: true },
  { field: "batchSize", label: "Batch", numeric: true },
  { field: "seed", label: "Seed", numeric: true },
  { field: "epochsDone", label: "Epochs", numeric: true },
  { field: "bestValAccuracy", label: "Best val acc", numeric: true },
  { field: "lastValAccuracy", label: "Last val acc", numeric: true },
  { field: "testAccuracy", label: "Test acc", numeric: true },
  { field: "createdAt", label: "Created" },
];

export function ExperimentDetail({ id }: { id: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [sort, setSort] = useState<{ field: RunSortField; dir: "asc" | "desc" }>({
    field: "id",
    dir: "desc",
  });
  const [status, setStatus] = useState<RunStatus[]>([]);
  const [renaming, setRenaming] = useState<string | null>(null);

  const experiment = useQuery(trpc.experiment.get.queryOptions({ id }));
  const runs = useInfiniteQuery(
    trpc.run.list.infiniteQueryOptions(
      { experimentId: id, sort, status: status.length ? status : undefined, limit: 50 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const rename = useMutation(
    trpc.experiment.rename.mutationOptions({
      onSuccess: () => {
        setRenaming(null);
        return queryClient.invalidateQueries({ queryKey: trpc.experiment.pathKey() });
      },
    }),
  );

  if (experiment.error)
    return <p className="rounded bg-red-50 p-3 text-red-700">{experiment.error.message}</p>;
  if (!experiment.data) return <p className="text-slate-500">Loading…</p>;
  const rows = runs.data?.pages.flatMap((page) => page.items) ?? [];
  const total = runs.data?.pages[0]?.total ?? 0;

  return (
    <section className="space-y-6">
      <div>
        {renaming === null ? (
          <div className="flex items-baseline gap-3">
            <h1 className="text-2xl font-semibold" data-testid="experiment-name">
              {experiment.data.name}
            </h1>
            <button
              type="button"
              className="text-sm text-slate-500 hover:text-slate-900"
              onClick={() => setRenaming(experiment.data.name)}
            >
              Rename
            </button>
            {experiment.data.archivedAt && <span className="text-sm text-amber-700">archived</span>}
          </div>
        ) : (
          <form
            className="flex items-center gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              rename.mutate({ id, name: renaming });
            }}
          >
            <input
              aria-label="New name"
              value={renaming}
              onChange={(e) => setRenaming(e.target.value)}
              className="rounded border border-slate-300 px-2 py-1 text-lg"
            />
            <button type="submit" className="rounded bg-indigo-600 px-3 py-1 text-sm text-white">
              Save
            </button>
            <button type="button" className="text-sm text-slate-500" onClick={() => setRenaming(null)}>
              Cancel
            </button>
            {rename.error && <span className="text-sm text-red-700">{rename.error.message}</span>}
          </form>
        )}
        {experiment.data.description && <p className="mt-1 text-slate-600">{experiment.data.description}</p>}
      </div>

      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="text-slate-600">Status:</span>
        {RUN_STATUSES.map((s) => (
          <label key={s} className="flex items-center gap-1">
            <input
              type="checkbox"
              checked={status.includes(s)}
              onChange={(e) =>
                setStatus((prev) => (e.target.checked ? [...prev, s] : prev.filter((x) => x !== s)))
              }
            />
            <StatusBadge status={s} />
          </label>
        ))}
        <span className="ml-auto text-slate-500">
          {total} run{total === 1 ? "" : "s"}
        </span>
      </div>

      <div className="overflow-x-auto rounded border border-slate-200 bg-white">
        <table className="w-full text-sm" data-testid="runs-table">
          <thead className="bg-slate-100 text-left text-xs uppercase tracking-wide text-slate-600">
            <tr>
              {COLUMNS.map((column) => (
                <th key={column.field} className={`px-3 py-2 ${column.numeric ? "text-right" : ""}`}>
                  <button
                    type="button"
                    className="uppercase hover:text-slate-900"
                    onClick={() =>
                      setSort((prev) => ({
                        field: column.field,
                        dir: prev.field === column.field && prev.dir === "desc" ? "asc" : "desc",
                      }))
                    }
                  >
                    {column.label}
                    {sort.field === column.field ? (sort.dir === "desc" ? " ↓" : " ↑") : ""}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((run) => (
              <tr key={run.id} className="border-t border-slate-100">
                <td className="px-3 py-2 text-right tabular-nums text-slate-500">{run.id}</td>
                <td className="px-3 py-2">{run.name}</td>
                <td className="px-3 py-2">
                  <StatusBadge status={run.status} />
                </td>
                <td className="px-3 py-2">{run.normalization}</td>
                <td className="px-3 py-2 text-right tabular-nums">{formatNumber(run.learningRate, 3)}</td>
                <td className="px-3 py-2 text-right tabular-nums">{run.batchSize}</td>
                <td className="px-3 py-2 text-right tabular-nums">{run.seed}</td>
                <td className="px-3 py-2 text-right tabular-nums">
                  {run.epochsDone}/{run.epochs}
                </td>
                <td className="px-3 py-2 text-right tabular-nums">{formatPercent(run.bestValAccuracy)}</td>
                <td className="px-3 py-2 text-right tabular-nums">{formatPercent(run.lastValAccuracy)}</td>
                <td className="px-3 py-2 text-right tabular-nums">{formatPercent(run.testAccuracy)}</td>
                <td className="px-3 py-2 text-slate-500">{formatAgo(run.createdAt)}</td>
              </tr>
            ))}
            {rows.length === 0 && !runs.isLoading && (
              <tr>
                <td colSpan={COLUMNS.length} className="px-3 py-6 text-center text-slate-500">
                  No runs match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {runs.hasNextPage && (
        <button
          type="button"
          onClick={() => runs.fetchNextPage()}
          disabled={runs.isFetchingNextPage}
          className="rounded border border-slate-300 bg-white px-4 py-1.5 text-sm"
        >
          {runs.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}
