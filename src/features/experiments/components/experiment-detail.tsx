"use client";
// An experiment's page: its runs with filters on every hyperparameter, sorting on any column,
// keyset pages, multi-select into compare, and cancel / requeue / delete / purge.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type ReactNode, useState } from "react";
import { DataTable } from "@/components/data-table";
import { Breadcrumbs, buttonClass, ErrorNote, Loading } from "@/components/ui";
import { useAccess } from "@/features/auth/use-access";
import { compareHref } from "@/features/compare/compare-url";
import { formatAgo, formatDuration, formatNumber, formatPercent, secondsBetween } from "@/lib/format";
import { type RouterOutputs, useTRPC } from "@/lib/trpc";
import type { RunSortField } from "@/shared/experiments";
import { type RunFilters, RunFiltersPanel } from "./run-filters";
import { SearchSummary } from "./search-summary";
import { StatusBadge } from "./status-badge";

type Run = RouterOutputs["run"]["list"]["items"][number];

const COLUMNS: { field?: RunSortField; label: string; numeric?: boolean; cell: (run: Run) => ReactNode }[] = [
  { field: "id", label: "#", numeric: true, cell: (r) => r.id },
  {
    field: "name",
    label: "Run",
    cell: (r) => (
      <Link href={`/runs/${r.id}`} className="text-indigo-700 hover:underline">
        {r.name}
      </Link>
    ),
  },
  {
    field: "status",
    label: "Status",
    cell: (r) => (
      <>
        <StatusBadge status={r.status} />
        {r.deletedAt && (
          <div className="whitespace-nowrap text-xs text-slate-400" data-testid="deleted-by">
            deleted by {r.deletedBy ?? "unknown"}
          </div>
        )}
      </>
    ),
  },
  {
    field: "normalization",
    label: "Norm.",
    cell: (r) =>
      r.source === "mlflow" ? (
        <span
          className="rounded bg-sky-100 px-1.5 text-xs text-sky-800"
          title="Logged through the MLflow API"
        >
          MLflow
        </span>
      ) : (
        r.normalization
      ),
  },
  { field: "learningRate", label: "LR", numeric: true, cell: (r) => formatNumber(r.learningRate, 3) },
  { field: "batchSize", label: "Batch", numeric: true, cell: (r) => r.batchSize },
  { label: "Dropout", cell: (r) => r.dropout.join("/") },
  { label: "Aug.", cell: (r) => (r.augmentation === null ? "" : r.augmentation ? "on" : "off") },
  { field: "seed", label: "Seed", numeric: true, cell: (r) => r.seed },
  {
    field: "epochsDone",
    label: "Epochs",
    numeric: true,
    cell: (r) => (r.epochs === null ? r.epochsDone : `${r.epochsDone}/${r.epochs}`),
  },
  {
    field: "bestValAccuracy",
    label: "Best val acc",
    numeric: true,
    cell: (r) => formatPercent(r.bestValAccuracy),
  },
  {
    field: "lastValAccuracy",
    label: "Last val acc",
    numeric: true,
    cell: (r) => formatPercent(r.lastValAccuracy),
  },
  { field: "bestValLoss", label: "Best val loss", numeric: true, cell: (r) => formatNumber(r.bestValLoss) },
  { field: "testAccuracy", label: "Test acc", numeric: true, cell: (r) => formatPercent(r.testAccuracy) },
  {
    field: "startedAt",
    label: "Duration",
    numeric: true,
    cell: (r) => formatDuration(secondsBetween(r.startedAt, r.finishedAt)),
  },
  { label: "Worker", cell: (r) => r.worker?.name ?? "—" },
  { field: "createdAt", label: "Created", cell: (r) => formatAgo(r.createdAt) },
];

export function ExperimentDetail({ id }: { id: number }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [sort, setSort] = useState<{ field: RunSortField; dir: "asc" | "desc" }>({
    field: "id",
    dir: "desc",
  });
  const [filters, setFilters] = useState<RunFilters>({});
  const [showFilters, setShowFilters] = useState(false);
  const { can } = useAccess();
  const [bin, setBin] = useState(false);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [renaming, setRenaming] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const experiment = useQuery(trpc.experiment.get.queryOptions({ id }));
  const runs = useInfiniteQuery(
    trpc.run.list.infiniteQueryOptions(
      { experimentId: id, sort, ...filters, deleted: bin, limit: 50 },
      {
        getNextPageParam: (page) => page.nextCursor ?? undefined,
        // Live while anything is queued or running.
        refetchInterval: (query) =>
          query.state.data?.pages.some((p) =>
            p.items.some((r) => r.status === "queued" || r.status === "running"),
          )
            ? 3_000
            : false,
      },
    ),
  );
  const refresh = () => {
    setSelected(new Set());
    return queryClient.invalidateQueries({ queryKey: trpc.run.pathKey() });
  };
  const rename = useMutation(
    trpc.experiment.rename.mutationOptions({
      onSuccess: () => {
        setRenaming(null);
        return queryClient.invalidateQueries({ queryKey: trpc.experiment.pathKey() });
      },
    }),
  );
  const cancel = useMutation(trpc.run.cancel.mutationOptions());
  const requeue = useMutation(
    trpc.run.requeue.mutationOptions({
      onSuccess: (created) => {
        setNotice(`Queued ${created.length} new run${created.length === 1 ? "" : "s"}.`);
        return refresh();
      },
    }),
  );
  const resume = useMutation(
    trpc.run.resume.mutationOptions({
      onSuccess: (resumed) => {
        setNotice(
          `Resuming ${resumed.length} run${resumed.length === 1 ? "" : "s"} from ${resumed.length === 1 ? "its" : "their"} last checkpoint.`,
        );
        return refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.run.delete.mutationOptions({
      onSuccess: ({ count }, input) => {
        setNotice(
          `${input.deleted ? "Moved" : "Restored"} ${count} run${count === 1 ? "" : "s"}${input.deleted ? " to the bin" : ""}.`,
        );
        return refresh();
      },
    }),
  );
  const purge = useMutation(
    trpc.run.purge.mutationOptions({
      onSuccess: (r) => {
        setNotice(
          `Purged ${r.runs} runs: ${r.metricPoints} metric points and ${r.artifacts} artifacts (${(r.artifactBytes / 1e6).toFixed(1)} MB) freed.${r.kept.length ? ` Kept runs ${r.kept.join(", ")}: their models are registered.` : ""}`,
        );
        return refresh();
      },
    }),
  );

  if (experiment.error) return <ErrorNote error={experiment.error} />;
  if (!experiment.data) return <Loading />;
  const rows = runs.data?.pages.flatMap((page) => page.items) ?? [];
  const total = runs.data?.pages[0]?.total ?? 0;
  const ids = [...selected];
  const actionError = cancel.error ?? requeue.error ?? resume.error ?? remove.error ?? purge.error;
  const cancelSelected = async () => {
    const cancellable = rows.filter(
      (r) => selected.has(r.id) && (r.status === "queued" || r.status === "running"),
    );
    // A run that ended meanwhile refuses; its message shows below (cancel.error), and the
    // notice counts only the runs that took the request.
    let asked = 0;
    for (const run of cancellable)
      await cancel
        .mutateAsync({ id: run.id })
        .then(() => asked++)
        .catch(() => {});
    setNotice(`Asked ${asked} run${asked === 1 ? "" : "s"} to cancel.`);
    await refresh();
  };

  return (
    <section className="space-y-4">
      <div>
        <Breadcrumbs trail={[{ href: "/experiments", label: "Experiments" }]} />
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
            <a
              href={`/api/experiments/${id}/runs.csv`}
              className="ml-auto text-sm text-indigo-700 hover:underline"
              download
            >
              Export runs (CSV)
            </a>
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
            <button type="submit" className={buttonClass.primary}>
              Save
            </button>
            <button type="button" className="text-sm text-slate-500" onClick={() => setRenaming(null)}>
              Cancel
            </button>
            {rename.error && <span className="text-sm text-red-700">{rename.error.message}</span>}
          </form>
        )}
        {experiment.data.description && <p className="mt-1 text-slate-600">{experiment.data.description}</p>}
        {experiment.data.search && (
          <SearchSummary name={experiment.data.name} search={experiment.data.search} />
        )}
      </div>

      <div className="flex flex-wrap items-center gap-2 text-sm">
        <button type="button" className={buttonClass.secondary} onClick={() => setShowFilters((v) => !v)}>
          {showFilters ? "Hide filters" : "Filters"}
          {Object.values(filters).some((v) => v !== undefined) ? " •" : ""}
        </button>
        <button
          type="button"
          className={buttonClass.primary}
          disabled={selected.size < 1}
          onClick={() => router.push(compareHref(ids))}
        >
          Compare ({selected.size})
        </button>
        {!can("write") ? null : !bin ? (
          <>
            <button
              type="button"
              className={buttonClass.secondary}
              disabled={!selected.size}
              onClick={cancelSelected}
            >
              Cancel
            </button>
            <button
              type="button"
              className={buttonClass.secondary}
              disabled={!selected.size || requeue.isPending}
              onClick={() => requeue.mutate({ ids })}
            >
              Requeue
            </button>
            <button
              type="button"
              className={buttonClass.secondary}
              title="Continue cancelled or failed runs from their last checkpoint"
              disabled={!selected.size || resume.isPending}
              onClick={() => resume.mutate({ ids })}
            >
              Resume
            </button>
            <button
              type="button"
              className={buttonClass.danger}
              disabled={!selected.size || remove.isPending}
              onClick={() => remove.mutate({ ids, deleted: true })}
            >
              Delete
            </button>
          </>
        ) : (
          <>
            <button
              type="button"
              className={buttonClass.secondary}
              disabled={!selected.size}
              onClick={() => remove.mutate({ ids, deleted: false })}
            >
              Restore
            </button>
            <button
              type="button"
              className={buttonClass.danger}
              disabled={purge.isPending || total === 0 || !can("admin")}
              title={can("admin") ? undefined : "Purging needs an admin sign-in"}
              onClick={() => {
                if (window.confirm(`Purge all ${total} deleted runs of this experiment for good?`))
                  purge.mutate({ experimentId: id });
              }}
            >
              Purge bin
            </button>
          </>
        )}
        <label className="ml-2 flex items-center gap-1 text-slate-600">
          <input
            type="checkbox"
            checked={bin}
            onChange={(e) => {
              setBin(e.target.checked);
              setSelected(new Set());
            }}
          />
          Show deleted runs
        </label>
        <span className="ml-auto text-slate-500" data-testid="run-total">
          {total} run{total === 1 ? "" : "s"}
        </span>
      </div>
      {showFilters && (
        <RunFiltersPanel
          filters={filters}
          onChange={(next) => {
            setFilters(next);
            setSelected(new Set());
          }}
        />
      )}
      {notice && (
        <p className="rounded bg-emerald-50 p-2 text-sm text-emerald-800" role="status">
          {notice}
        </p>
      )}
      <ErrorNote error={actionError} />

      <div className="overflow-x-auto rounded border border-slate-200 bg-white">
        <DataTable
          testId="runs-table"
          rows={rows}
          rowKey={(run) => run.id}
          rowProps={(run) => ({ className: selected.has(run.id) ? "bg-indigo-50" : "" })}
          columns={[
            {
              key: "select",
              header: (
                <input
                  type="checkbox"
                  aria-label="Select all runs"
                  checked={rows.length > 0 && rows.every((r) => selected.has(r.id))}
                  onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((r) => r.id)) : new Set())}
                />
              ),
              cell: (run) => (
                <input
                  type="checkbox"
                  aria-label={`Select run ${run.id}`}
                  checked={selected.has(run.id)}
                  onChange={(e) =>
                    setSelected((prev) => {
                      const next = new Set(prev);
                      if (e.target.checked) next.add(run.id);
                      else next.delete(run.id);
                      return next;
                    })
                  }
                />
              ),
            },
            ...COLUMNS.map((column) => ({
              key: column.label,
              numeric: column.numeric,
              className: "whitespace-nowrap",
              cell: column.cell,
              header: column.field ? (
                <button
                  type="button"
                  className="uppercase hover:text-slate-900"
                  onClick={() =>
                    setSort((prev) => ({
                      field: column.field as RunSortField,
                      dir: prev.field === column.field && prev.dir === "desc" ? "asc" : "desc",
                    }))
                  }
                >
                  {column.label}
                  {sort.field === column.field ? (sort.dir === "desc" ? " ↓" : " ↑") : ""}
                </button>
              ) : (
                column.label
              ),
            })),
          ]}
        />
        {rows.length === 0 && !runs.isLoading && (
          <p className="px-3 py-6 text-center text-sm text-slate-500">
            {bin ? "The bin is empty." : "No runs match."}
          </p>
        )}
      </div>
      <div className="flex items-center gap-3 text-sm text-slate-500">
        <span>
          Showing {rows.length} of {total}
        </span>
        {runs.hasNextPage && (
          <button
            type="button"
            onClick={() => runs.fetchNextPage()}
            disabled={runs.isFetchingNextPage}
            className={buttonClass.secondary}
          >
            {runs.isFetchingNextPage ? "Loading…" : "Load 50 more"}
          </button>
        )}
      </div>
    </section>
  );
}
