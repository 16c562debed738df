"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { DataTable } from "@/components/data-table";
import { useAccess } from "@/features/auth/use-access";
import { formatAgo, formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { RUN_STATUSES } from "@/shared/run-status";
import { StatusBadge } from "./status-badge";

export function ExperimentList() {
  const trpc = useTRPC();
  const { can } = useAccess();
  const queryClient = useQueryClient();
  const [includeArchived, setIncludeArchived] = useState(false);
  const [search, setSearch] = useState("");
  const list = useQuery(
    trpc.experiment.list.queryOptions({ includeArchived, search: search || undefined, limit: 100 }),
  );
  const archive = useMutation(
    trpc.experiment.archive.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.experiment.list.queryKey() }),
    }),
  );

  return (
    <section>
      <div className="mb-6 flex flex-wrap items-center gap-4">
        <h1 className="text-2xl font-semibold">Experiments</h1>
        <input
          type="search"
          placeholder="Search by name"
          aria-label="Search experiments"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          className="rounded border border-slate-300 px-3 py-1.5 text-sm"
        />
        <label className="flex items-center gap-2 text-sm text-slate-600">
          <input
            type="checkbox"
            checked={includeArchived}
            onChange={(e) => setIncludeArchived(e.target.checked)}
          />
          Show archived
        </label>
        {can("write") && (
          <Link
            href="/experiments/new"
            className="ml-auto rounded bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700"
          >
            New experiment
          </Link>
        )}
      </div>

      {list.error && <p className="rounded bg-red-50 p-3 text-sm text-red-700">{list.error.message}</p>}
      {list.data && list.data.items.length === 0 && (
        <div className="rounded border border-dashed border-slate-300 bg-white p-10 text-center text-slate-600">
          No experiments yet.{" "}
          <Link href="/experiments/new" className="text-indigo-700 underline">
            Create one
          </Link>{" "}
          to queue training runs.
        </div>
      )}
      {list.data && list.data.items.length > 0 && (
        <DataTable
          framed
          testId="experiments-table"
          rows={list.data.items}
          rowKey={(e) => e.id}
          columns={[
            {
              key: "name",
              header: "Name",
              cell: (experiment) => (
                <>
                  <Link
                    href={`/experiments/${experiment.id}`}
                    className="font-medium text-indigo-700 hover:underline"
                  >
                    {experiment.name}
                  </Link>
                  {experiment.archivedAt && <span className="ml-2 text-xs text-slate-500">(archived)</span>}
                  {experiment.description && (
                    <p className="mt-1 line-clamp-2 max-w-md text-xs text-slate-500">
                      {experiment.description}
                    </p>
                  )}
                </>
              ),
            },
            {
              key: "runs",
              header: "Runs",
              cell: (experiment) => (
                <>
                  <span className="mr-2 font-medium" data-testid="run-count">
                    {experiment.totalRuns}
                  </span>
                  <span className="inline-flex flex-wrap gap-1">
                    {RUN_STATUSES.filter((s) => experiment.runCounts[s] > 0).map((s) => (
                      <StatusBadge key={s} status={s} count={experiment.runCounts[s]} />
                    ))}
                  </span>
                </>
              ),
            },
            {
              key: "best-val",
              header: "Best val acc",
              numeric: true,
              cell: (experiment) => formatPercent(experiment.bestValAccuracy),
            },
            {
              key: "best-test",
              header: "Best test acc",
              numeric: true,
              cell: (experiment) => formatPercent(experiment.bestTestAccuracy),
            },
            {
              key: "activity",
              header: "Last activity",
              className: "text-slate-600",
              cell: (experiment) => formatAgo(experiment.lastActivityAt),
            },
            {
              key: "actions",
              header: "",
              className: "text-right",
              cell: (experiment) => (
                <button
                  type="button"
                  className="text-xs text-slate-500 hover:text-slate-900"
                  hidden={!can("write")}
                  disabled={archive.isPending}
                  onClick={() => archive.mutate({ id: experiment.id, archived: !experiment.archivedAt })}
                >
                  {experiment.archivedAt ? "Unarchive" : "Archive"}
                </button>
              ),
            },
          ]}
        />
      )}
      {archive.error && <p className="mt-3 text-sm text-red-700">{archive.error.message}</p>}
    </section>
  );
}
