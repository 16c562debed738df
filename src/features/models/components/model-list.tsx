"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { DataTable } from "@/components/data-table";
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
        <DataTable
          framed
          testId="models-table"
          rows={models.data}
          rowKey={(m) => m.id}
          columns={[
            {
              key: "model",
              header: "model",
              cell: (m) => (
                <Link
                  className="text-indigo-700 hover:underline"
                  href={`/models/${encodeURIComponent(m.name)}`}
                >
                  {m.name}
                </Link>
              ),
            },
            {
              key: "aliases",
              header: "aliases",
              cell: (m) =>
                m.aliases.map((a) => (
                  <span
                    key={a.alias}
                    className="mr-2 rounded bg-emerald-100 px-1.5 py-0.5 text-xs text-emerald-800"
                  >
                    {a.alias} → v{a.version}
                  </span>
                )),
            },
            { key: "versions", header: "versions", numeric: true, cell: (m) => m.versionCount },
            {
              key: "latest",
              header: "latest",
              className: "text-slate-500",
              cell: (m) => (m.latest ? `v${m.latest.version}, ${formatAgo(m.latest.createdAt)}` : "—"),
            },
          ]}
        />
      )}
    </section>
  );
}
