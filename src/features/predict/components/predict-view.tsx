"use client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { buttonClass, ErrorNote, Loading, Panel } from "@/components/ui";
// Classify an uploaded image with a promoted model, twice: on the server, and in this browser
// with @tensorflow/tfjs loading the same model files. Both use one preprocessing.
import { csrfHeaders } from "@/features/auth/csrf";
import { formatPercent } from "@/lib/format";
import { useTRPC } from "@/lib/trpc";
import { MAX_UPLOAD_BYTES, type Prediction, ranked, readModelMetadata, toModelInput } from "../preprocess";

interface ServerAnswer {
  version: number;
  runId: number;
  image: { width: number; height: number };
  top: Prediction[];
  ms: number;
}

async function classifyInBrowser(
  file: File,
  runId: number,
): Promise<{ top: Prediction[]; ms: number; backend: string }> {
  const tf = await import("@tensorflow/tfjs");
  await tf.ready();
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error("the browser cannot read this file as an image");
  }
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  if (!context) throw new Error("this browser has no 2D canvas");
  context.drawImage(bitmap, 0, 0);
  const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height);
  const model = await tf.loadLayersModel(`/api/runs/${runId}/artifacts/model.json`);
  try {
    const meta = readModelMetadata(model);
    const started = performance.now();
    const input = toModelInput(
      tf,
      { width: pixels.width, height: pixels.height, data: pixels.data },
      meta.normalizer,
    );
    const output = model.predict(input) as import("@tensorflow/tfjs").Tensor;
    const probabilities = await output.data();
    tf.dispose([input, output]);
    return {
      top: ranked(probabilities, meta.classNames).slice(0, 3),
      ms: performance.now() - started,
      backend: tf.getBackend(),
    };
  } finally {
    model.dispose();
  }
}

function TopThree({ top, testId }: { top: Prediction[]; testId: string }) {
  return (
    <ol className="space-y-1" data-testid={testId}>
      {top.map((p) => (
        <li key={p.class} className="flex items-center gap-2 text-sm">
          <span className="w-24 font-medium">{p.label}</span>
          <span className="h-2 flex-1 overflow-hidden rounded bg-slate-200">
            <span
              className="block h-full bg-indigo-600"
              style={{ width: `${(p.probability * 100).toFixed(1)}%` }}
            />
          </span>
          <span className="w-14 text-right tabular-nums">{formatPercent(p.probability)}</span>
        </li>
      ))}
    </ol>
  );
}

export function PredictView() {
  const trpc = useTRPC();
  const models = useQuery(trpc.model.list.queryOptions());
  const withAliases = (models.data ?? []).filter((m) => m.aliases.length > 0);
  const [modelName, setModelName] = useState<string | null>(null);
  const chosen = withAliases.find((m) => m.name === modelName) ?? withAliases[0];
  const [alias, setAlias] = useState<string | null>(null);
  const chosenAlias =
    chosen?.aliases.find((a) => a.alias === alias) ??
    chosen?.aliases.find((a) => a.alias === "production") ??
    chosen?.aliases[0];
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [server, setServer] = useState<ServerAnswer | null>(null);
  const [browser, setBrowser] = useState<{ top: Prediction[]; ms: number; backend: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [browserError, setBrowserError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  async function classify() {
    if (!file || !chosen || !chosenAlias) return;
    setServer(null);
    setBrowser(null);
    setError(null);
    setBrowserError(null);
    if (file.size > MAX_UPLOAD_BYTES) {
      setError(`The file is ${(file.size / 1024 / 1024).toFixed(1)} MiB; images are limited to 10 MiB.`);
      return;
    }
    setBusy(true);
    try {
      const response = await fetch(
        `/api/models/${encodeURIComponent(chosen.name)}/predict?alias=${encodeURIComponent(chosenAlias.alias)}`,
        {
          method: "POST",
          body: file,
          headers: { ...csrfHeaders(), "content-type": file.type || "application/octet-stream" },
        },
      );
      const body = await response.json();
      if (!response.ok) {
        setError(`Refused: ${body.error?.message ?? response.statusText}`);
        return;
      }
      setServer(body as ServerAnswer);
      await classifyInBrowser(file, (body as ServerAnswer).runId)
        .then(setBrowser)
        .catch((e: unknown) => setBrowserError((e as Error).message));
    } finally {
      setBusy(false);
    }
  }

  if (models.error) return <ErrorNote error={models.error} />;
  if (!models.data) return <Loading />;
  return (
    <section className="space-y-4">
      <h1 className="text-2xl font-semibold">Predict</h1>
      {withAliases.length === 0 ? (
        <p className="text-slate-600">
          No model has an alias yet: register a run&apos;s model and promote a version first.
        </p>
      ) : (
        <div className="flex flex-wrap items-end gap-3 text-sm">
          <label className="flex flex-col gap-1">
            <span className="text-xs text-slate-600">Model</span>
            <select
              aria-label="Model"
              value={chosen?.name}
              onChange={(e) => {
                setModelName(e.target.value);
                setAlias(null);
              }}
              className="rounded border border-slate-300 px-2 py-1"
            >
              {withAliases.map((m) => (
                <option key={m.name}>{m.name}</option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1">
            <span className="text-xs text-slate-600">Alias</span>
            <select
              aria-label="Alias"
              value={chosenAlias?.alias}
              onChange={(e) => setAlias(e.target.value)}
              className="rounded border border-slate-300 px-2 py-1"
            >
              {chosen?.aliases.map((a) => (
                <option key={a.alias} value={a.alias}>
                  {a.alias} (v{a.version})
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1">
            <span className="text-xs text-slate-600">Image (PNG or JPEG, any size)</span>
            <input
              type="file"
              aria-label="Image file"
              accept="image/png,image/jpeg"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                setServer(null);
                setBrowser(null);
                setError(null);
              }}
            />
          </label>
          <button type="button" className={buttonClass.primary} disabled={!file || busy} onClick={classify}>
            {busy ? "Classifying…" : "Classify"}
          </button>
        </div>
      )}
      {error && (
        <p className="rounded bg-red-50 p-3 text-sm text-red-700" role="alert" data-testid="predict-error">
          {error}
        </p>
      )}
      {(server || preview) && (
        <div className="grid gap-4 md:grid-cols-3">
          {preview && !error && (
            <Panel title="Your image">
              {/* biome-ignore lint/performance/noImgElement: a local object URL of the user's file */}
              <img src={preview} alt="Uploaded" className="max-h-48" />
              {server && (
                <p className="mt-1 text-xs text-slate-500">
                  {server.image.width}×{server.image.height}, resized to 32×32 like the training images.
                </p>
              )}
            </Panel>
          )}
          {server && (
            <Panel title={`On the server (v${server.version}, ${server.ms.toFixed(0)} ms)`}>
              <TopThree top={server.top} testId="server-top3" />
            </Panel>
          )}
          {(browser || browserError) && (
            <Panel
              title={
                browser
                  ? `In your browser (${browser.backend}, ${browser.ms.toFixed(0)} ms)`
                  : "In your browser"
              }
            >
              {browser ? (
                <TopThree top={browser.top} testId="browser-top3" />
              ) : (
                <ErrorNote error={{ message: browserError ?? "" }} />
              )}
            </Panel>
          )}
        </div>
      )}
    </section>
  );
}
