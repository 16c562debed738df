"use client";
// The run page's reference panels: hyperparameters, the model's layers, the data with its
// augmentation preview, artifacts and logs.
import { useQuery } from "@tanstack/react-query";
import { DataTable } from "@/components/data-table";
import { Panel } from "@/components/ui";
import { formatAgo } from "@/lib/format";
import { type RouterOutputs, useTRPC } from "@/lib/trpc";
import { flattenConfig } from "@/shared/config-diff";

type Artifact = RouterOutputs["run"]["artifacts"][number];

export function useArtifactJson<T>(runId: number, name: string, artifacts: Artifact[] | undefined) {
  const stored = artifacts?.find((a) => a.name === name);
  return useQuery({
    queryKey: ["artifact", runId, name, stored?.sha256],
    enabled: Boolean(stored),
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: async () => {
      const response = await fetch(`/api/runs/${runId}/artifacts/${name}`);
      if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
      return (await response.json()) as T;
    },
  });
}

export function HyperparamsPanel({
  config,
  title = "Hyperparameters",
  testId = "hyperparams",
}: {
  config: unknown;
  title?: string;
  testId?: string;
}) {
  const rows = Object.entries(flattenConfig(config)).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Panel title={title}>
      {!rows.length && <p className="text-sm text-slate-500">None logged.</p>}
      <DataTable
        size="compact"
        header={false}
        testId={testId}
        rows={rows}
        rowKey={([param]) => param}
        columns={[
          { key: "param", header: "parameter", className: "text-slate-500", cell: ([param]) => param },
          { key: "value", header: "value", className: "font-mono", cell: ([, value]) => value },
        ]}
      />
    </Panel>
  );
}

interface Layers {
  layers: { name: string; type: string; outputShape: (number | null)[]; params: number; trainable: number }[];
  total: number;
  trainable: number;
}

export function LayersPanel({ runId, artifacts }: { runId: number; artifacts: Artifact[] | undefined }) {
  const layers = useArtifactJson<Layers>(runId, "layers.json", artifacts);
  return (
    <Panel title="Model layers">
      {!layers.data ? (
        <p className="text-sm text-slate-500">The worker reports the layer summary when it starts the run.</p>
      ) : (
        <DataTable
          size="compact"
          testId="layer-summary"
          rows={layers.data.layers}
          rowKey={(l) => l.name}
          columns={[
            { key: "layer", header: "layer", className: "font-mono", cell: (l) => l.name },
            { key: "type", header: "type", cell: (l) => l.type },
            {
              key: "shape",
              header: "output shape",
              className: "font-mono",
              cell: (l) => `[${l.outputShape.map((d) => d ?? "None").join(", ")}]`,
            },
            { key: "params", header: "params", numeric: true, cell: (l) => l.params.toLocaleString("en") },
          ]}
          footer={
            <tr>
              <td className="px-2 py-1" colSpan={3}>
                Total ({(layers.data.total - layers.data.trainable).toLocaleString("en")} non-trainable)
              </td>
              <td className="px-2 py-1 text-right tabular-nums" data-testid="total-params">
                {layers.data.total.toLocaleString("en")}
              </td>
            </tr>
          }
        />
      )}
    </Panel>
  );
}

interface DatasetInfo {
  train: number;
  validation: number;
  test: number;
  normalization: string;
  mean: number[];
  std: number[];
}

export function DataPanel({ runId, artifacts }: { runId: number; artifacts: Artifact[] | undefined }) {
  const info = useArtifactJson<DatasetInfo>(runId, "dataset.json", artifacts);
  const preview = artifacts?.find((a) => a.name === "augmentation-preview.png");
  return (
    <Panel title="Data and augmentation">
      {info.data && (
        <p className="mb-2 text-sm text-slate-700" data-testid="dataset-info">
          CIFAR-10: {info.data.train.toLocaleString("en")} train / {info.data.validation.toLocaleString("en")}{" "}
          validation / {info.data.test.toLocaleString("en")} test images; {info.data.normalization}{" "}
          normalisation
          {info.data.normalization !== "sfs" &&
            ` (train-split mean ${info.data.mean.map((m) => m.toFixed(2)).join("/")}, std ${info.data.std.map((s) => s.toFixed(2)).join("/")})`}
          .
        </p>
      )}
      {preview ? (
        <>
          {/* biome-ignore lint/performance/noImgElement: a PNG artifact straight from the API */}
          <img
            src={`/api/runs/${runId}/artifacts/augmentation-preview.png?v=${preview.sha256.slice(0, 8)}`}
            alt="Training images (left column) and augmented copies"
            data-testid="augmentation-preview"
            style={{ imageRendering: "pixelated" }}
          />
          <p className="mt-1 text-xs text-slate-500">
            Each row: a training image, then seven augmented copies.
          </p>
        </>
      ) : (
        <p className="text-sm text-slate-500">The preview appears when a worker starts the run.</p>
      )}
    </Panel>
  );
}

interface TreeNode {
  name: string;
  path: string;
  artifact?: Artifact;
  children: Map<string, TreeNode>;
}

/** Artifact names with slashes ("model/data/model.pth") as a folder tree. */
function artifactTree(artifacts: Artifact[]): TreeNode {
  const root: TreeNode = { name: "", path: "", children: new Map() };
  for (const artifact of artifacts) {
    let node = root;
    const parts = artifact.name.split("/");
    parts.forEach((part, i) => {
      const path = parts.slice(0, i + 1).join("/");
      let child = node.children.get(part);
      if (!child) {
        child = { name: part, path, children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    });
    node.artifact = artifact;
  }
  return root;
}

function TreeLevel({ node, href }: { node: TreeNode; href: (name: string) => string }) {
  const entries = [...node.children.values()].sort(
    (a, b) => Number(b.children.size > 0) - Number(a.children.size > 0) || a.name.localeCompare(b.name),
  );
  return (
    <ul className="ml-3 space-y-0.5">
      {entries.map((child) =>
        child.artifact ? (
          <li key={child.path} className="flex gap-3 text-xs">
            <a className="text-indigo-700 hover:underline" href={href(child.path)} download>
              {child.name}
            </a>
            <span className="text-slate-500 tabular-nums">{(child.artifact.size / 1024).toFixed(1)} KiB</span>
            <span className="text-slate-400">{formatAgo(child.artifact.createdAt)}</span>
          </li>
        ) : (
          <li key={child.path}>
            <details open={child.children.size <= 20}>
              <summary className="cursor-pointer text-xs font-medium text-slate-700">{child.name}/</summary>
              <TreeLevel node={child} href={href} />
            </details>
          </li>
        ),
      )}
    </ul>
  );
}

export function ArtifactsPanel({
  runId,
  artifacts,
  proxyRoot,
}: {
  runId: number;
  artifacts: Artifact[] | undefined;
  /** The run's folder in MLflow's artifact proxy, which serves nested paths. */
  proxyRoot?: string;
}) {
  const href = (name: string) =>
    proxyRoot
      ? `${proxyRoot}/${name.split("/").map(encodeURIComponent).join("/")}`
      : `/api/runs/${runId}/artifacts/${name}`;
  const nested = artifacts?.some((a) => a.name.includes("/"));
  return (
    <Panel title="Artifacts">
      {!artifacts?.length ? (
        <p className="text-sm text-slate-500">None yet.</p>
      ) : nested ? (
        <div data-testid="artifacts">
          <TreeLevel node={artifactTree(artifacts)} href={href} />
        </div>
      ) : (
        <DataTable
          size="compact"
          header={false}
          testId="artifacts"
          rows={artifacts}
          rowKey={(a) => a.id}
          columns={[
            {
              key: "name",
              header: "name",
              cell: (a) => (
                <a className="text-indigo-700 hover:underline" href={href(a.name)} download>
                  {a.name}
                </a>
              ),
            },
            { key: "kind", header: "kind", className: "text-slate-500", cell: (a) => a.kind },
            { key: "size", header: "size", numeric: true, cell: (a) => `${(a.size / 1024).toFixed(1)} KiB` },
            { key: "when", header: "when", className: "text-slate-500", cell: (a) => formatAgo(a.createdAt) },
          ]}
        />
      )}
    </Panel>
  );
}

export function LogsPanel({ runId, live }: { runId: number; live: boolean }) {
  const trpc = useTRPC();
  const logs = useQuery({
    ...trpc.run.logs.queryOptions({ id: runId }),
    refetchInterval: live ? 3_000 : false,
  });
  const lines = logs.data ?? [];
  return (
    <Panel title="Logs">
      <pre
        className="max-h-80 overflow-auto bg-slate-900 p-3 text-xs leading-5 text-slate-100"
        data-testid="run-logs"
      >
        {lines.length === 0
          ? "No log lines yet."
          : lines
              .map((l) => `${new Date(l.time).toISOString().slice(11, 19)} ${l.level.padEnd(5)} ${l.message}`)
              .join("\n")}
      </pre>
    </Panel>
  );
}
