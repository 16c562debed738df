"use client";
// A run, live: status and progress with ETA, curves that update while it trains, the test-set
// evaluation, hyperparameters, worker, layers, data preview, artifacts and logs.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect } from "react";
import { Breadcrumbs, buttonClass, ErrorNote, Loading, Panel } from "@/components/ui";
import { useAccess } from "@/features/auth/use-access";
import { EvaluationPanel } from "@/features/evaluation/components/evaluation-panel";
import { StatusBadge } from "@/features/experiments/components/status-badge";
import {
  describeModelEpoch,
  formatAgo,
  formatDuration,
  formatNumber,
  formatPercent,
  secondsBetween,
} from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { EPOCH_METRIC_KEYS } from "@/shared/metrics";
import { LoggedCharts } from "./logged-charts";
import { RegisterModel } from "./register-model";
import { RunCharts, useRunHistory } from "./run-charts";
import { ArtifactsPanel, DataPanel, HyperparamsPanel, LayersPanel, LogsPanel } from "./run-details";
import { type Progress, RunProgress } from "./run-progress";

function Stat({ label, value, testId }: { label: string; value: React.ReactNode; testId?: string }) {
  return (
    <div className="rounded border border-slate-200 bg-white px-3 py-2">
      <div className="text-xs text-slate-500">{label}</div>
      <div className="text-lg font-semibold tabular-nums" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

export function RunPage({ id }: { id: number }) {
  const trpc = useTRPC();
  const { can } = useAccess();
  const queryClient = useQueryClient();
  const run = useQuery({
    ...trpc.run.get.queryOptions({ id }),
    refetchInterval: (q) =>
      // Each heartbeat (every 2 s) moves the progress bar: poll often enough not to miss one.
      q.state.data?.status === "running" ? 1_000 : q.state.data?.status === "queued" ? 2_000 : false,
  });
  const live = run.data ? ["queued", "running"].includes(run.data.status) : false;
  const history = useRunHistory(id, live);
  const artifacts = useQuery({
    ...trpc.run.artifacts.queryOptions({ id }),
    refetchInterval: live ? 5_000 : false,
  });
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.run.pathKey() });
  const cancel = useMutation(trpc.run.cancel.mutationOptions({ onSuccess: invalidate }));
  const requeue = useMutation(trpc.run.requeue.mutationOptions({ onSuccess: invalidate }));
  const resume = useMutation(trpc.run.resume.mutationOptions({ onSuccess: invalidate }));
  // A status change brings what the worker sent last (final metrics, evaluation, model files).
  const status = run.data?.status;
  useEffect(() => {
    if (!status) return;
    void queryClient.invalidateQueries({ queryKey: trpc.run.pathKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.metric.pathKey() });
  }, [status, queryClient, trpc]);

  if (run.error) return <ErrorNote error={run.error} />;
  if (!run.data) return <Loading />;
  const r = run.data;
  const epochSeconds =
    history.data?.find((s) => s.key === EPOCH_METRIC_KEYS.epochSeconds)?.points.map((p) => p.value) ?? [];
  const progress = r.status === "running" ? (r.progress as Progress | null) : null;
  const workerInfo = (r.worker?.info ?? {}) as Record<string, unknown>;
  // Runs logged by the user's own code through MLflow's API: no worker, no queue, any keys.
  const external = r.source === "mlflow";
  const proxyRoot = `/api/2.0/mlflow-artifacts/artifacts/${r.experimentId}/${r.uuid}/artifacts`;

  return (
    <section className="space-y-4">
      <div>
        <Breadcrumbs
          trail={[
            { href: "/experiments", label: "Experiments" },
            { href: `/experiments/${r.experiment.id}`, label: r.experiment.name },
          ]}
        />
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-semibold">
            <span className="text-slate-400">#{r.id}</span> {r.name}
          </h1>
          <span data-testid="run-status">
            <StatusBadge status={r.status} />
          </span>
          {external && (
            <span
              className="rounded bg-sky-100 px-2 py-0.5 text-xs font-medium text-sky-800"
              title={`Logged through the MLflow API; MLflow run id ${r.uuid}`}
              data-testid="run-source"
            >
              MLflow{r.owner ? ` · ${r.owner}` : ""}
            </span>
          )}
          {r.cancelRequestedAt && r.status === "running" && (
            <span className="text-sm text-amber-700">cancelling…</span>
          )}
          <div className="ml-auto flex flex-wrap gap-2">
            {can("write") && (r.status === "queued" || r.status === "running") && !r.cancelRequestedAt && (
              <button type="button" className={buttonClass.danger} onClick={() => cancel.mutate({ id })}>
                Cancel run
              </button>
            )}
            {can("write") && !live && !external && (
              <button
                type="button"
                className={buttonClass.secondary}
                onClick={() => requeue.mutate({ ids: [id] })}
              >
                Requeue
              </button>
            )}
            {can("write") && !external && (r.status === "cancelled" || r.status === "failed") && (
              <button
                type="button"
                className={buttonClass.secondary}
                title="Continue this run from its last checkpoint"
                onClick={() => resume.mutate({ ids: [id] })}
              >
                Resume
              </button>
            )}
            <a className={buttonClass.secondary} href={`/api/runs/${id}/metrics?format=csv`} download>
              Metrics CSV
            </a>
            <a className={buttonClass.secondary} href={`/api/runs/${id}/metrics?format=json`} download>
              Metrics JSON
            </a>
          </div>
        </div>
        {requeue.data?.[0] && (
          <p className="mt-1 text-sm text-emerald-800">
            Queued as{" "}
            <Link className="underline" href={`/runs/${requeue.data[0].id}`}>
              run {requeue.data[0].id}
            </Link>
            .
          </p>
        )}
        <ErrorNote error={cancel.error ?? requeue.error ?? resume.error} />
      </div>

      {r.status === "failed" && r.error && (
        <div
          className="rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800"
          data-testid="run-error"
        >
          <div className="font-semibold">The run failed</div>
          <pre className="mt-1 whitespace-pre-wrap text-xs">{r.error}</pre>
        </div>
      )}
      {progress && r.epochs !== null && (
        <RunProgress progress={progress} epochs={r.epochs} epochSeconds={epochSeconds} />
      )}
      {r.status === "queued" && !external && (
        <p className="text-sm text-slate-600">
          Waiting for a worker (queued {formatAgo(r.queuedAt)}; attempt {r.attempt + 1} of {r.maxAttempts}).
        </p>
      )}

      <div className="grid grid-cols-2 gap-3 md:grid-cols-4 lg:grid-cols-8">
        <Stat
          label="Epochs"
          value={r.epochs === null ? String(r.epochsDone) : `${r.epochsDone} / ${r.epochs}`}
          testId="stat-epochs"
        />
        <Stat
          label={`Best val acc${r.bestEpoch ? ` (epoch ${r.bestEpoch})` : ""}`}
          value={formatPercent(r.bestValAccuracy, 2)}
          testId="stat-best-val-acc"
        />
        <Stat label="Last val acc" value={formatPercent(r.lastValAccuracy, 2)} />
        <Stat label="Best val loss" value={formatNumber(r.bestValLoss)} />
        <Stat label="Test accuracy" value={formatPercent(r.testAccuracy, 2)} testId="stat-test-acc" />
        {external ? (
          <Stat label="Started" value={formatAgo(r.startedAt)} />
        ) : (
          <Stat
            label="Model weights"
            value={r.modelEpoch ? describeModelEpoch(r.modelEpoch, r.bestEpoch, r.epochsDone) : "—"}
            testId="stat-model-epoch"
          />
        )}
        <Stat label="Duration" value={formatDuration(secondsBetween(r.startedAt, r.finishedAt))} />
        {external ? (
          <Stat label="Params · tags" value={`${r.params.length} · ${r.tags.length}`} />
        ) : (
          <Stat label="Attempt" value={`${r.attempt} / ${r.maxAttempts}`} />
        )}
      </div>

      {external ? <LoggedCharts runId={id} live={live} /> : <RunCharts history={history.data ?? []} />}

      {r.status === "succeeded" && can("write") && !external && (
        <Panel title="Model registry">
          <RegisterModel runId={id} />
        </Panel>
      )}
      <EvaluationPanel runId={id} live={live} />

      {external ? (
        <div className="grid gap-4 lg:grid-cols-2">
          <div className="space-y-4">
            <HyperparamsPanel
              config={Object.fromEntries(r.params.map((p) => [p.key, p.value]))}
              title="Parameters"
              testId="params"
            />
            <HyperparamsPanel
              config={Object.fromEntries(r.tags.map((t) => [t.key, t.value]))}
              title="Tags"
              testId="tags"
            />
          </div>
          <div className="space-y-4">
            <ArtifactsPanel runId={id} artifacts={artifacts.data} proxyRoot={proxyRoot} />
          </div>
        </div>
      ) : (
        <div className="grid gap-4 lg:grid-cols-2">
          <div className="space-y-4">
            <HyperparamsPanel config={r.config} />
            <Panel title="Worker">
              {r.worker ? (
                <dl className="grid grid-cols-[8rem_1fr] gap-y-1 text-xs" data-testid="run-worker">
                  <dt className="text-slate-500">name</dt>
                  <dd>{r.worker.name}</dd>
                  <dt className="text-slate-500">host</dt>
                  <dd>{r.worker.host}</dd>
                  <dt className="text-slate-500">backend</dt>
                  <dd>{r.backend ?? r.worker.backend}</dd>
                  {Object.entries(workerInfo).map(([key, value]) => (
                    <div key={key} className="contents">
                      <dt className="text-slate-500">{key}</dt>
                      <dd className="break-all">
                        {Array.isArray(value) ? value.join(", ") || "—" : String(value)}
                      </dd>
                    </div>
                  ))}
                  <dt className="text-slate-500">last heartbeat</dt>
                  <dd>{formatAgo(r.worker.lastHeartbeatAt)}</dd>
                </dl>
              ) : (
                <p className="text-sm text-slate-500">
                  {r.backend ? `Trained on ${r.backend}.` : "No worker has taken this run yet."}
                </p>
              )}
            </Panel>
            <ArtifactsPanel runId={id} artifacts={artifacts.data} />
          </div>
          <div className="space-y-4">
            <LayersPanel runId={id} artifacts={artifacts.data} />
            <DataPanel runId={id} artifacts={artifacts.data} />
          </div>
        </div>
      )}
      <LogsPanel runId={id} live={live} />
    </section>
  );
}
