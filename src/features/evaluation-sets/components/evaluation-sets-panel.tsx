"use client";
// "Evaluate on your images": upload a zip, or pick a folder (one sub-folder per class, or a
// labels.csv), stored once as an evaluation set and scored against every version of the model;
// then each set's import and scoring progress, and the report of a chosen version on a set.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { zipSync } from "fflate";
import { useRef, useState } from "react";
import { buttonClass, ErrorNote, Panel } from "@/components/ui";
import { csrfHeaders } from "@/features/auth/csrf";
import { useAccess } from "@/features/auth/use-access";
import type { Matrix } from "@/features/evaluation/components/confusion-matrix";
import { EvaluationReport } from "@/features/evaluation/components/evaluation-report";
import { formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { DEFAULT_SYNONYMS, formatSynonyms, parseSynonyms } from "@/shared/class-synonyms";
import { EVALUATION_SET_LIMITS, type SetMisclassified } from "@/shared/evaluation-sets";
import type { ClassMetrics } from "@/shared/scoring";

export type SetScores = ReturnType<typeof useSetScores>["data"];

/** Every set and each version's score on it; polled while anything is importing or scoring. */
export function useSetScores(model: string) {
  const trpc = useTRPC();
  return useQuery({
    ...trpc.evaluationSet.scores.queryOptions({ name: model }),
    refetchInterval: (query) => {
      const data = query.state.data;
      const busy =
        data?.sets.some((s) => s.status === "importing") ||
        data?.scores.some((s) => s.status === "queued" || s.status === "running");
      return busy ? 1_500 : false;
    },
  });
}

/** Uploads with progress (fetch cannot report an upload's progress). */
function upload(url: string, body: Blob, onProgress: (share: number) => void): Promise<{ id: number }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("content-type", "application/zip");
    for (const [key, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(key, value);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body: { id?: number; error?: { message?: string } } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      if (xhr.status < 300 && body.id) resolve({ id: body.id });
      else reject(new Error(body.error?.message ?? `the upload failed (HTTP ${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error("the upload failed: the server could not be reached"));
    xhr.send(body);
  });
}

/** A picked folder as a zip, with the folder's own name dropped (its sub-folders are the classes). */
async function zipPickedFolder(files: FileList): Promise<Blob> {
  const entries: Record<string, Uint8Array> = {};
  let bytes = 0;
  for (const file of Array.from(files)) {
    bytes += file.size;
    if (bytes > EVALUATION_SET_LIMITS.uncompressedBytes)
      throw new Error(
        `the folder holds more than ${EVALUATION_SET_LIMITS.uncompressedBytes / 1024 / 1024} MB`,
      );
    const relative = (file.webkitRelativePath || file.name).split("/").slice(1).join("/") || file.name;
    entries[relative] = new Uint8Array(await file.arrayBuffer());
  }
  return new Blob([zipSync(entries, { level: 0 }) as Uint8Array<ArrayBuffer>], { type: "application/zip" });
}

function UploadForm({ model, onUploaded }: { model: string; onUploaded: () => void }) {
  const [name, setName] = useState("");
  const [source, setSource] = useState<
    { kind: "zip"; file: File } | { kind: "folder"; files: FileList } | null
  >(null);
  const [synonyms, setSynonyms] = useState(formatSynonyms(DEFAULT_SYNONYMS));
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const submit = async () => {
    setError(null);
    try {
      if (!source) throw new Error("choose a zip file or a folder");
      const table = parseSynonyms(synonyms);
      const body = source.kind === "zip" ? source.file : await zipPickedFolder(source.files);
      const params = new URLSearchParams({
        name: name.trim(),
        model,
        synonyms: JSON.stringify(table),
        score: "all",
      });
      setProgress(0);
      await upload(`/api/evaluation-sets?${params}`, body, setProgress);
      setSource(null);
      setName("");
      onUploaded();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setProgress(null);
    }
  };

  return (
    <form
      className="space-y-2 text-sm"
      data-testid="evaluation-set-upload"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <p className="text-slate-600">
        A zip or a folder with one sub-folder per class (<code>cat/</code>, <code>ship/</code>, …), or a{" "}
        <code>labels.csv</code> of <code>file,label</code> rows. PNG or JPEG of any size, preprocessed as
        predictions are; up to {EVALUATION_SET_LIMITS.images.toLocaleString("en")} images and{" "}
        {EVALUATION_SET_LIMITS.uncompressedBytes / 1024 / 1024} MB. Every version of this model is scored on
        it.
      </p>
      <div className="flex flex-wrap items-center gap-2">
        <input
          aria-label="Evaluation set name"
          placeholder="Set name, e.g. web photos"
          required
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
          className="w-56 rounded border border-slate-300 px-2 py-1"
        />
        <label className={buttonClass.secondary}>
          Zip file…
          <input
            type="file"
            accept=".zip,application/zip"
            aria-label="Zip of labelled images"
            className="sr-only"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) setSource({ kind: "zip", file });
            }}
          />
        </label>
        <label className={buttonClass.secondary}>
          Folder…
          <input
            ref={(input) => {
              folderInput.current = input;
              // Not in React's typings: folder picking (all current browsers).
              input?.setAttribute("webkitdirectory", "");
            }}
            type="file"
            multiple
            aria-label="Folder of labelled images"
            className="sr-only"
            onChange={(e) => {
              if (e.target.files?.length) setSource({ kind: "folder", files: e.target.files });
            }}
          />
        </label>
        <span className="text-slate-500" data-testid="evaluation-set-source">
          {source?.kind === "zip"
            ? source.file.name
            : source?.kind === "folder"
              ? `${source.files.length} files`
              : "nothing chosen"}
        </span>
        <button type="submit" className={buttonClass.primary} disabled={progress !== null}>
          {progress === null ? "Upload and evaluate" : `Uploading ${Math.round(progress * 100)}%`}
        </button>
      </div>
      <details>
        <summary className="cursor-pointer text-slate-600">Folder names → classes (synonyms)</summary>
        <p className="mt-1 text-xs text-slate-500">
          Case and plurals are handled; one <code>name = class</code> per line.
        </p>
        <textarea
          aria-label="Synonyms"
          rows={6}
          value={synonyms}
          onChange={(e) => setSynonyms(e.target.value)}
          className="mt-1 w-80 rounded border border-slate-300 px-2 py-1 font-mono text-xs"
        />
      </details>
      {error && (
        <p className="rounded bg-red-50 p-3 text-red-700" role="alert" data-testid="evaluation-set-error">
          {error}
        </p>
      )}
    </form>
  );
}

function SetDetails({ setId }: { setId: number }) {
  const trpc = useTRPC();
  const set = useQuery(trpc.evaluationSet.get.queryOptions({ id: setId }));
  if (!set.data) return null;
  const { classes, skipped, mapping } = set.data;
  return (
    <div className="space-y-1 text-xs text-slate-600">
      <div>
        {classes.map((c) => `${c.label} ${c.count}`).join(" · ")}
        {Object.entries(mapping).some(([from, to]) => from !== to) && (
          <span className="ml-2 text-slate-500">
            (
            {Object.entries(mapping)
              .filter(([from, to]) => from !== to)
              .map(([from, to]) => `${from} → ${to}`)
              .join(", ")}
            )
          </span>
        )}
      </div>
      {skipped.length > 0 && (
        <details data-testid="evaluation-set-skipped">
          <summary className="cursor-pointer">
            {skipped.length} file{skipped.length === 1 ? "" : "s"} skipped
          </summary>
          <ul className="ml-4 list-disc">
            {skipped.slice(0, 200).map((s) => (
              <li key={s.file}>
                {s.file}: {s.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function SetReport({ setId, versionId }: { setId: number; versionId: number }) {
  const trpc = useTRPC();
  const result = useQuery(trpc.evaluationSet.result.queryOptions({ setId, versionId }));
  if (result.error) return <ErrorNote error={result.error} />;
  const r = result.data;
  if (!r?.confusionMatrix) return null;
  return (
    <div className="mt-4 border-t border-slate-100 pt-4" data-testid="evaluation-set-report">
      <h3 className="mb-2 text-sm font-semibold">
        v{r.version} on “{r.setName}”: accuracy {formatPercent(r.accuracy, 1)} of {r.total} images, loss{" "}
        {r.loss?.toFixed(3)}
      </h3>
      <EvaluationReport
        matrix={r.confusionMatrix as Matrix}
        perClass={r.perClass as unknown as ClassMetrics[]}
        misclassified={(r.misclassified ?? []) as unknown as SetMisclassified[]}
        image={(m) => ({
          src: `/api/evaluation-sets/${setId}/images/${m.index}`,
          name: m.file,
          pixelated: false,
        })}
      />
    </div>
  );
}

export function EvaluationSetsPanel({
  model,
  versions,
  selected,
  onSelect,
}: {
  model: string;
  versions: { id: number; version: number }[];
  selected: { setId: number; versionId: number } | null;
  onSelect: (selected: { setId: number; versionId: number } | null) => void;
}) {
  const trpc = useTRPC();
  const { can } = useAccess();
  const queryClient = useQueryClient();
  const scores = useSetScores(model);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.evaluationSet.pathKey() });
  const score = useMutation(trpc.evaluationSet.score.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.evaluationSet.remove.mutationOptions({ onSuccess: refresh }));
  const [open, setOpen] = useState<number | null>(null);
  const sets = scores.data?.sets ?? [];

  return (
    <Panel title="Evaluation on your images" testId="evaluation-sets">
      {can("write") && <UploadForm model={model} onUploaded={refresh} />}
      <ErrorNote error={scores.error ?? score.error ?? remove.error} />
      {sets.length > 0 && (
        <ul className="mt-4 space-y-3 text-sm">
          {sets.map((set) => {
            const scored = scores.data?.scores.filter((s) => s.setId === set.id) ?? [];
            return (
              <li key={set.id} data-testid={`evaluation-set-${set.name}`} className="space-y-1">
                <div className="flex flex-wrap items-center gap-3">
                  <button
                    type="button"
                    className="font-medium text-indigo-700 hover:underline"
                    onClick={() => setOpen(open === set.id ? null : set.id)}
                  >
                    {set.name}
                  </button>
                  {set.status === "importing" ? (
                    <span className="flex items-center gap-2" data-testid="evaluation-set-progress">
                      <progress value={set.imported} max={set.total} className="w-40" />
                      importing {set.imported}/{set.total}
                    </span>
                  ) : set.status === "failed" ? (
                    <span className="text-red-700">failed: {set.error}</span>
                  ) : (
                    <span className="text-slate-500" data-testid="evaluation-set-status">
                      {set.imported} images
                    </span>
                  )}
                  {set.status === "ready" && can("write") && (
                    <button
                      type="button"
                      className={buttonClass.secondary}
                      disabled={score.isPending}
                      onClick={() => score.mutate({ setId: set.id, versionIds: versions.map((v) => v.id) })}
                    >
                      {scored.length === versions.length ? "Score all versions again" : "Score all versions"}
                    </button>
                  )}
                  {can("write") && (
                    <button
                      type="button"
                      className={buttonClass.danger}
                      disabled={remove.isPending}
                      onClick={() => {
                        if (window.confirm(`Delete the evaluation set "${set.name}" and its scores?`)) {
                          if (selected?.setId === set.id) onSelect(null);
                          remove.mutate({ id: set.id });
                        }
                      }}
                    >
                      Delete
                    </button>
                  )}
                </div>
                {open === set.id && <SetDetails setId={set.id} />}
              </li>
            );
          })}
        </ul>
      )}
      {selected && <SetReport setId={selected.setId} versionId={selected.versionId} />}
    </Panel>
  );
}

/** One version's score on one set, for the versions table: a link to its report, or progress. */
export function SetScoreCell({
  scores,
  setId,
  versionId,
  onSelect,
}: {
  scores: SetScores;
  setId: number;
  versionId: number;
  onSelect: (selected: { setId: number; versionId: number }) => void;
}) {
  const s = scores?.scores.find((x) => x.setId === setId && x.versionId === versionId);
  if (!s) return <span className="text-slate-400">—</span>;
  if (s.status === "done")
    return (
      <button
        type="button"
        className="text-indigo-700 tabular-nums hover:underline"
        onClick={() => onSelect({ setId, versionId })}
      >
        {formatPercent(s.accuracy, 1)}
      </button>
    );
  if (s.status === "failed")
    return (
      <span className="text-red-700" title={s.error ?? ""}>
        failed
      </span>
    );
  return (
    <span className="text-xs text-slate-500">
      {s.status === "queued" ? "queued" : `${Math.round((100 * s.done) / Math.max(1, s.total))}%`}
    </span>
  );
}
