"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { ErrorNote, Loading } from "@/components/ui";
import { formatAgo } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";

export function ModelList() {
  const trpc = useTRPC();
  const models = useQuery(trpc.model.list.queryOptions());
  if (models.error) return <ErrorNote error={models.error} />;
  if (!models.data) return <Loading />;
  return (
    <section className="space-y-4">
      <h1 className="text-2xl font-semibold">Models</h1>
      {models.data.length === 0 ? (
        <p className="text-slate-600">
          No registered models yet. Open a succeeded run and press &ldquo;Register model&rdquo;.
        </p>
      ) : (
        <table className="w-full rounded border border-slate-200 bg-white text-sm" data-testid="models-table">
          <thead className="bg-slate-100 text-left text-xs uppercase text-slate-600">
            <tr>
              <th className="px-3 py-2">model</th>
              <th className="px-3 py-2">aliases</th>
              <th className="px-3 py-2 text-right">versions</th>
              <th className="px-3 py-2">latest</th>
            </tr>
          </thead>
          <tbody>
            {models.data.map((m) => (
              <tr key={m.id} className="border-t border-slate-100">
                <td className="px-3 py-2">
                  <Link
                    className="text-indigo-700 hover:underline"
                    href={`/models/${encodeURIComponent(m.name)}`}
                  >
                    {m.name}
                  </Link>
                </td>
                <td className="px-3 py-2">
                  {m.aliases.map((a) => (
                    <span
                      key={a.alias}
                      className="mr-2 rounded bg-emerald-100 px-1.5 py-0.5 text-xs text-emerald-800"
                    >
                      {a.alias} → v{a.version}
                    </span>
                  ))}
                </td>
                <td className="px-3 py-2 text-right">{m.versionCount}</td>
                <td className="px-3 py-2 text-slate-500">
                  {m.latest ? `v${m.latest.version}, ${formatAgo(m.latest.createdAt)}` : "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
