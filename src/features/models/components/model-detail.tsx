"use client";
// A registered model: its versions (each linked to its run, metrics and files, with their
// scores on the user's evaluation sets next to the test accuracy), aliases moved in one click
// with a note, rollback, evaluation on the user's own images, and the promotion history.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { DataTable } from "@/components/data-table";
import { Breadcrumbs, buttonClass, ErrorNote, Loading, Panel } from "@/components/ui";
import { useAccess } from "@/features/auth/use-access";
import {
  EvaluationSetsPanel,
  SetScoreCell,
  useSetScores,
} from "@/features/evaluation-sets/components/evaluation-sets-panel";
import { describeModelEpoch, formatAgo, formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { SUGGESTED_ALIASES } from "@/shared/registry";

export function ModelDetail({ name }: { name: string }) {
  const trpc = useTRPC();
  const { can } = useAccess();
  const queryClient = useQueryClient();
  const model = useQuery(trpc.model.get.queryOptions({ name }));
  const [alias, setAlias] = useState<string>(SUGGESTED_ALIASES[0]);
  const [note, setNote] = useState("");
  const refresh = () => {
    setNote("");
    return queryClient.invalidateQueries({ queryKey: trpc.model.pathKey() });
  };
  const promote = useMutation(trpc.model.promote.mutationOptions({ onSuccess: refresh }));
  const rollback = useMutation(trpc.model.rollback.mutationOptions({ onSuccess: refresh }));
  const scores = useSetScores(name);
  const [report, setReport] = useState<{ setId: number; versionId: number } | null>(null);

  if (model.error) return <ErrorNote error={model.error} />;
  if (!model.data) return <Loading />;
  const m = model.data;
  const aliasesOf = (version: number) => m.aliases.filter((a) => a.version === version).map((a) => a.alias);

  return (
    <section className="space-y-4">
      <div>
        <Breadcrumbs trail={[{ href: "/models", label: "Models" }]} />
        <h1 className="text-2xl font-semibold">{m.name}</h1>
      </div>

      <Panel title="Aliases" testId="aliases">
        {m.aliases.length === 0 ? (
          <p className="text-sm text-slate-500">No alias yet: promote a version below.</p>
        ) : (
          <ul className="space-y-2 text-sm">
            {m.aliases.map((a) => (
              <li key={a.alias} className="flex items-center gap-3" data-testid={`alias-${a.alias}`}>
                <span className="rounded bg-emerald-100 px-2 py-0.5 font-medium text-emerald-800">
                  {a.alias}
                </span>
                <span>
                  → version <span data-testid={`alias-${a.alias}-version`}>{a.version}</span>
                </span>
                <span className="text-slate-500">since {formatAgo(a.updatedAt)}</span>
                <button
                  type="button"
                  className={buttonClass.secondary}
                  hidden={!can("write")}
                  disabled={rollback.isPending}
                  onClick={() => rollback.mutate({ name, alias: a.alias, note })}
                >
                  Roll back {a.alias}
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="mt-3 flex flex-wrap items-center gap-2 text-sm">
          <label className="flex items-center gap-1">
            Alias
            <input
              aria-label="Alias"
              list="alias-suggestions"
              value={alias}
              onChange={(e) => setAlias(e.target.value)}
              className="w-32 rounded border border-slate-300 px-2 py-1"
            />
            <datalist id="alias-suggestions">
              {SUGGESTED_ALIASES.map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </label>
          <input
            aria-label="Promotion note"
            placeholder="Why? (kept in the history)"
            value={note}
            onChange={(e) => setNote(e.target.value)}
            className="w-80 rounded border border-slate-300 px-2 py-1"
          />
        </div>
        <ErrorNote error={promote.error ?? rollback.error} />
      </Panel>

      <Panel title="Versions">
        <DataTable
          testId="versions-table"
          rows={m.versions}
          rowKey={(v) => v.id}
          rowProps={(v) => ({ "data-testid": `version-${v.version}` })}
          columns={[
            {
              key: "version",
              header: "version",
              cell: (v) => (
                <>
                  v{v.version}{" "}
                  {aliasesOf(v.version).map((a) => (
                    <span
                      key={a}
                      className="ml-1 rounded bg-emerald-100 px-1.5 py-0.5 text-xs text-emerald-800"
                    >
                      {a}
                    </span>
                  ))}
                  {v.description && <div className="text-xs text-slate-500">{v.description}</div>}
                </>
              ),
            },
            {
              key: "run",
              header: "run",
              cell: (v) => (
                <>
                  <Link className="text-indigo-700 hover:underline" href={`/runs/${v.run.id}`}>
                    #{v.run.id} {v.run.name}
                  </Link>
                  <div className="text-xs text-slate-500">{v.run.experiment.name}</div>
                </>
              ),
            },
            {
              key: "test",
              header: "test acc",
              numeric: true,
              cell: (v) => formatPercent(v.run.testAccuracy, 2),
            },
            ...(scores.data?.sets ?? [])
              .filter((set) => set.status === "ready")
              .map((set) => ({
                key: `set-${set.id}`,
                header: <span title={`Accuracy on the evaluation set "${set.name}"`}>{set.name}</span>,
                numeric: true,
                cell: (v: (typeof m.versions)[number]) => (
                  <SetScoreCell scores={scores.data} setId={set.id} versionId={v.id} onSelect={setReport} />
                ),
              })),
            {
              key: "best-val",
              header: "best val acc",
              numeric: true,
              cell: (v) => formatPercent(v.run.bestValAccuracy, 2),
            },
            {
              key: "weights",
              header: <span title="The epoch whose weights this version holds">weights</span>,
              className: "text-xs",
              cell: (v) => (
                <span data-testid={`version-${v.version}-epoch`}>
                  {v.epoch ? describeModelEpoch(v.epoch, v.run.bestEpoch, v.run.epochsDone) : "—"}
                </span>
              ),
            },
            {
              key: "files",
              header: "files",
              className: "text-xs",
              cell: (v) => (
                <>
                  <a
                    className="text-indigo-700 hover:underline"
                    href={`/api/runs/${v.run.id}/artifacts/model.json`}
                    download
                  >
                    model.json
                  </a>{" "}
                  <a
                    className="text-indigo-700 hover:underline"
                    href={`/api/runs/${v.run.id}/artifacts/weights.bin`}
                    download
                  >
                    weights.bin
                  </a>
                  <div className="text-slate-400">sha256 {v.artifact.sha256.slice(0, 12)}…</div>
                </>
              ),
            },
            {
              key: "registered",
              header: "registered",
              className: "text-xs text-slate-500",
              cell: (v) => `${formatAgo(v.createdAt)} by ${v.createdBy}`,
            },
            {
              key: "promote",
              header: "",
              // Pinned: a column per evaluation set pushes it out of a scrolled table's view.
              className: "sticky right-0 bg-white text-right",
              cell: (v) => (
                <button
                  type="button"
                  className={buttonClass.primary}
                  hidden={!can("write")}
                  disabled={promote.isPending || aliasesOf(v.version).includes(alias)}
                  onClick={() => promote.mutate({ name, alias, version: v.version, note })}
                >
                  Promote to {alias || "…"}
                </button>
              ),
            },
          ]}
        />
      </Panel>

      <EvaluationSetsPanel
        model={name}
        versions={m.versions.map((v) => ({ id: v.id, version: v.version }))}
        selected={report}
        onSelect={setReport}
      />

      <Panel title="Promotion history (append-only)">
        {m.promotions.length === 0 ? (
          <p className="text-sm text-slate-500">No promotions yet.</p>
        ) : (
          <DataTable
            testId="promotion-history"
            rows={m.promotions}
            rowKey={(p) => p.id}
            columns={[
              {
                key: "when",
                header: "when",
                className: "text-slate-500",
                cell: (p) => new Date(p.createdAt).toLocaleString("en-GB"),
              },
              { key: "alias", header: "alias", cell: (p) => p.alias },
              {
                key: "change",
                header: "change",
                cell: (p) => `${p.fromVersion === null ? "—" : `v${p.fromVersion}`} → v${p.toVersion}`,
              },
              { key: "who", header: "who", className: "text-slate-500", cell: (p) => p.actor },
              { key: "note", header: "note", cell: (p) => p.note },
            ]}
          />
        )}
      </Panel>
    </section>
  );
}
