"use client";
// A registered model: its versions (each linked to its run, metrics and files), aliases
// moved in one click with a note, rollback, and the append-only promotion history.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { Breadcrumbs, buttonClass, ErrorNote, Loading, Panel } from "@/components/ui";
import { useAccess } from "@/features/auth/use-access";
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
        <table className="w-full text-sm [&_td]:pr-4 [&_th]:pr-4" data-testid="versions-table">
          <thead className="text-left text-xs uppercase text-slate-500">
            <tr>
              <th className="py-1">version</th>
              <th className="py-1">run</th>
              <th className="py-1 text-right">test acc</th>
              <th className="py-1 text-right">best val acc</th>
              <th className="py-1" title="The epoch whose weights this version holds">
                weights
              </th>
              <th className="py-1">files</th>
              <th className="py-1">registered</th>
              <th className="py-1" />
            </tr>
          </thead>
          <tbody>
            {m.versions.map((v) => (
              <tr key={v.id} className="border-t border-slate-100" data-testid={`version-${v.version}`}>
                <td className="py-2">
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
                </td>
                <td className="py-2">
                  <Link className="text-indigo-700 hover:underline" href={`/runs/${v.run.id}`}>
                    #{v.run.id} {v.run.name}
                  </Link>
                  <div className="text-xs text-slate-500">{v.run.experiment.name}</div>
                </td>
                <td className="py-2 text-right tabular-nums">{formatPercent(v.run.testAccuracy, 2)}</td>
                <td className="py-2 text-right tabular-nums">{formatPercent(v.run.bestValAccuracy, 2)}</td>
                <td className="py-2 text-xs" data-testid={`version-${v.version}-epoch`}>
                  {v.epoch ? describeModelEpoch(v.epoch, v.run.bestEpoch, v.run.epochsDone) : "—"}
                </td>
                <td className="py-2 text-xs">
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
                </td>
                <td className="py-2 text-xs text-slate-500">
                  {formatAgo(v.createdAt)} by {v.createdBy}
                </td>
                <td className="py-2 text-right">
                  <button
                    type="button"
                    className={buttonClass.primary}
                    hidden={!can("write")}
                    disabled={promote.isPending || aliasesOf(v.version).includes(alias)}
                    onClick={() => promote.mutate({ name, alias, version: v.version, note })}
                  >
                    Promote to {alias || "…"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>

      <Panel title="Promotion history (append-only)">
        <table className="w-full text-sm" data-testid="promotion-history">
          <thead className="text-left text-xs uppercase text-slate-500">
            <tr>
              <th className="py-1">when</th>
              <th className="py-1">alias</th>
              <th className="py-1">change</th>
              <th className="py-1">who</th>
              <th className="py-1">note</th>
            </tr>
          </thead>
          <tbody>
            {m.promotions.map((p) => (
              <tr key={p.id} className="border-t border-slate-100">
                <td className="py-1 text-slate-500">{new Date(p.createdAt).toLocaleString("en-GB")}</td>
                <td className="py-1">{p.alias}</td>
                <td className="py-1">
                  {p.fromVersion === null ? "—" : `v${p.fromVersion}`} → v{p.toVersion}
                </td>
                <td className="py-1 text-slate-500">{p.actor}</td>
                <td className="py-1">{p.note}</td>
              </tr>
            ))}
            {m.promotions.length === 0 && (
              <tr>
                <td colSpan={5} className="py-2 text-slate-500">
                  No promotions yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Panel>
    </section>
  );
}
