"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useMemo, useState } from "react";
import { buttonClass } from "@/components/ui";
import { useTRPC } from "@/lib/trpc";
import { experimentCreateSchema } from "@/shared/experiments";
import {
  DEFAULT_HYPERPARAMS,
  hyperparamsSchema,
  NORMALIZATIONS,
  type Normalization,
} from "@/shared/hyperparams";
import { PRESETS, type PresetName } from "@/shared/presets";
import {
  type FormValues,
  fromFormValues,
  issuesByPath,
  parseSeeds,
  toFormValues,
} from "../hyperparams-form-model";
import {
  DEFAULT_AB,
  defaultRandomAxes,
  EMPTY_GRID,
  GRID_NUMBER_AXES,
  type GridAxes,
  type PlanMode,
  planRuns,
  type RandomAxes,
  randomSearchOf,
} from "../run-plan";
import { HyperparamsFields } from "./hyperparams-fields";

interface ServerIssue {
  path: string[];
  message: string;
}

export function NewExperimentForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [seedsText, setSeedsText] = useState(String(DEFAULT_HYPERPARAMS.seed));
  const [values, setValues] = useState<FormValues>(() =>
    toFormValues(hyperparamsSchema.parse({ preset: "notebook" })),
  );
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);
  const [mode, setMode] = useState<PlanMode>("single");
  const [ab, setAb] = useState<[Normalization, Normalization]>(DEFAULT_AB);
  const [grid, setGrid] = useState<GridAxes>(EMPTY_GRID);
  const [random, setRandom] = useState<RandomAxes>(() =>
    defaultRandomAxes(Math.floor(Math.random() * 1_000_000)),
  );

  const seeds = parseSeeds(seedsText);
  const plan = useMemo(
    () =>
      typeof seeds === "string" ? [] : planRuns(mode, fromFormValues(values), seeds, { ab, grid, random }),
    [mode, values, seeds, ab, grid, random],
  );
  // A random search goes to the server as a search (it samples and records it), not as runs.
  const search = useMemo(
    () =>
      mode === "random" && typeof seeds !== "string"
        ? randomSearchOf(random, fromFormValues(values), seeds)
        : undefined,
    [mode, random, values, seeds],
  );
  const validation = useMemo(
    () =>
      experimentCreateSchema.safeParse(
        typeof search === "object"
          ? { name, description, search }
          : { name, description, runs: typeof plan === "string" ? [] : plan },
      ),
    [name, description, plan, search],
  );

  const create = useMutation(
    trpc.experiment.create.mutationOptions({
      onSuccess: async (experiment) => {
        await queryClient.invalidateQueries({ queryKey: trpc.experiment.list.queryKey() });
        router.push(`/experiments/${experiment.id}`);
      },
    }),
  );

  const serverIssues = (create.error?.data as { issues?: ServerIssue[] | null } | undefined)?.issues ?? [];
  const clientIssues = validation.success ? [] : validation.error.issues;
  const allIssues = [...clientIssues, ...serverIssues];
  const fieldErrors = issuesByPath(allIssues, ["runs", 0, "config"]);
  const topErrors = issuesByPath(allIssues);
  const show = (path: string) => submitted || touched.has(path);
  const visible = Object.fromEntries(Object.entries(fieldErrors).filter(([path]) => show(path)));
  const nameError = show("name") ? topErrors.name : undefined;
  const seedsError = show("seeds") && typeof seeds === "string" ? seeds : undefined;
  const serverMessage = create.error && serverIssues.length === 0 ? create.error.message : null;

  function touch(path: string) {
    setTouched((prev) => new Set(prev).add(path));
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    if (validation.success && typeof plan !== "string") create.mutate(validation.data);
  }

  const planError = typeof plan === "string" ? plan : null;
  const runCount = typeof seeds === "string" || planError ? 0 : plan.length * seeds.length;
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-6" aria-label="New experiment">
      <div className="flex items-baseline justify-between">
        <h1 className="text-2xl font-semibold">New experiment</h1>
        <div className="flex items-center gap-2 text-sm" data-testid="presets">
          <span className="text-slate-600">Preset:</span>
          {Object.entries(PRESETS).map(([key, preset]) => (
            <button
              key={key}
              type="button"
              title={preset.description}
              className={values.preset === key ? buttonClass.primary : buttonClass.secondary}
              onClick={() => setValues(toFormValues(hyperparamsSchema.parse({ preset: key })))}
            >
              {preset.label}
            </button>
          ))}
        </div>
      </div>
      {typeof values.preset === "string" && values.preset in PRESETS && (
        <p className="text-sm text-slate-600" data-testid="preset-description">
          {PRESETS[values.preset as PresetName].description} Every field below stays editable.
        </p>
      )}
      {serverMessage && (
        <p className="rounded bg-red-50 p-3 text-sm text-red-700" role="alert">
          {serverMessage}
        </p>
      )}

      <div className="grid gap-4 rounded border border-slate-200 bg-white p-4 md:grid-cols-3">
        <div className="md:col-span-1">
          <label htmlFor="experiment-name" className="mb-1 block text-xs font-medium text-slate-600">
            Name
          </label>
          <input
            id="experiment-name"
            name="name"
            value={name}
            onChange={(e) => {
              setName(e.target.value);
              touch("name");
            }}
            className={`w-full rounded border px-2 py-1.5 text-sm ${nameError ? "border-red-500 bg-red-50" : "border-slate-300"}`}
            placeholder="sfs-vs-zscore"
          />
          {nameError && <p className="mt-1 text-xs text-red-700">Name {nameError}</p>}
        </div>
        <div className="md:col-span-2">
          <label htmlFor="experiment-description" className="mb-1 block text-xs font-medium text-slate-600">
            Description
          </label>
          <input
            id="experiment-description"
            name="description"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            className="w-full rounded border border-slate-300 px-2 py-1.5 text-sm"
            placeholder="What question does this experiment answer?"
          />
        </div>
        <div>
          <label htmlFor="experiment-seeds" className="mb-1 block text-xs font-medium text-slate-600">
            Seeds <span className="font-normal text-slate-400">(one run each, e.g. 1, 2, 3)</span>
          </label>
          <input
            id="experiment-seeds"
            name="seeds"
            value={seedsText}
            onChange={(e) => {
              setSeedsText(e.target.value);
              touch("seeds");
            }}
            className={`w-full rounded border px-2 py-1.5 text-sm ${seedsError ? "border-red-500 bg-red-50" : "border-slate-300"}`}
          />
          {seedsError && <p className="mt-1 text-xs text-red-700">Seeds {seedsError}</p>}
        </div>
      </div>

      <fieldset className="space-y-3 rounded border border-slate-200 bg-white p-4" data-testid="run-plan">
        <legend className="px-1 text-sm font-semibold text-slate-700">Runs to queue</legend>
        <div className="flex flex-wrap gap-4 text-sm">
          {(
            [
              ["single", "One config"],
              ["ab", "A/B: two normalisations"],
              ["grid", "Grid over hyperparameters"],
              ["random", "Random search"],
            ] as const
          ).map(([value, label]) => (
            <label key={value} className="flex items-center gap-1">
              <input type="radio" name="plan" checked={mode === value} onChange={() => setMode(value)} />
              {label}
            </label>
          ))}
        </div>
        {mode === "ab" && (
          <div className="flex flex-wrap items-center gap-4 text-sm">
            {(["A", "B"] as const).map((variant, i) => (
              <label key={variant} className="flex items-center gap-2">
                Variant {variant} normalization
                <select
                  value={ab[i]}
                  onChange={(e) =>
                    setAb((prev) => {
                      const next = [...prev] as [Normalization, Normalization];
                      next[i] = e.target.value as Normalization;
                      return next;
                    })
                  }
                  className="rounded border border-slate-300 px-2 py-1"
                >
                  {NORMALIZATIONS.map((n) => (
                    <option key={n}>{n}</option>
                  ))}
                </select>
              </label>
            ))}
            <span className="text-slate-500">Everything else comes from the config below.</span>
          </div>
        )}
        {mode === "grid" && (
          <div className="grid gap-3 text-sm md:grid-cols-3">
            <Choices
              title="Normalisations"
              ariaPrefix="Grid normalization"
              options={NORMALIZATIONS}
              chosen={grid.normalization}
              onChange={(chosen) => setGrid((g) => ({ ...g, normalization: chosen }))}
            />
            {GRID_NUMBER_AXES.map(({ key, label }) => (
              <label key={key} className="block">
                <span className="mb-1 block text-xs font-medium text-slate-600">{label}</span>
                <input
                  value={grid[key]}
                  placeholder="e.g. 0.001, 0.0005"
                  onChange={(e) => setGrid((g) => ({ ...g, [key]: e.target.value }))}
                  className="w-full rounded border border-slate-300 px-2 py-1"
                />
              </label>
            ))}
            <Choices
              title="Augmentation"
              ariaPrefix="Grid augmentation"
              options={["on", "off"] as const}
              chosen={grid.augmentation}
              onChange={(chosen) => setGrid((g) => ({ ...g, augmentation: chosen }))}
            />
          </div>
        )}
        {mode === "random" && (
          <div className="grid gap-3 text-sm md:grid-cols-4">
            <label className="block">
              <span className="mb-1 block text-xs font-medium text-slate-600">Configs to sample</span>
              <input
                aria-label="Configs to sample"
                value={random.count}
                onChange={(e) => setRandom((r) => ({ ...r, count: e.target.value }))}
                className="w-full rounded border border-slate-300 px-2 py-1"
              />
            </label>
            <label className="block">
              <span className="mb-1 block text-xs font-medium text-slate-600">Sampler seed (recorded)</span>
              <input
                aria-label="Sampler seed"
                value={random.samplerSeed}
                onChange={(e) => setRandom((r) => ({ ...r, samplerSeed: e.target.value }))}
                className="w-full rounded border border-slate-300 px-2 py-1 font-mono"
              />
            </label>
            {(
              [
                ["learningRate", "Learning rate (log-uniform)"],
                ["l2", "L2 (log-uniform)"],
              ] as const
            ).map(([key, label]) => (
              <div key={key}>
                <span className="mb-1 block text-xs font-medium text-slate-600">{label}</span>
                <div className="flex items-center gap-1">
                  {(["min", "max"] as const).map((end, i) => (
                    <input
                      key={end}
                      aria-label={`${label} ${end}`}
                      placeholder={end}
                      value={random[key][i]}
                      onChange={(e) =>
                        setRandom((r) => {
                          const next = [...r[key]] as [string, string];
                          next[i] = e.target.value;
                          return { ...r, [key]: next };
                        })
                      }
                      className="w-full rounded border border-slate-300 px-2 py-1"
                    />
                  ))}
                </div>
              </div>
            ))}
            <label className="block">
              <span className="mb-1 block text-xs font-medium text-slate-600">Batch sizes (one of)</span>
              <input
                aria-label="Random batch sizes"
                value={random.batchSize}
                placeholder="e.g. 32, 64, 128"
                onChange={(e) => setRandom((r) => ({ ...r, batchSize: e.target.value }))}
                className="w-full rounded border border-slate-300 px-2 py-1"
              />
            </label>
            <Choices
              title="Normalisations (one of)"
              ariaPrefix="Random normalization"
              options={NORMALIZATIONS}
              chosen={random.normalization}
              onChange={(chosen) => setRandom((g) => ({ ...g, normalization: chosen }))}
            />
            <Choices
              title="Augmentation (one of)"
              ariaPrefix="Random augmentation"
              options={["on", "off"] as const}
              chosen={random.augmentation}
              onChange={(chosen) => setRandom((g) => ({ ...g, augmentation: chosen }))}
            />
          </div>
        )}
        {typeof plan !== "string" && plan.length > 1 && (
          <p className="text-xs text-slate-500" data-testid="plan-summary">
            {plan.length} configs × {typeof seeds === "string" ? 0 : seeds.length} seeds:{" "}
            {plan.map((p) => p.name).join("; ")}
          </p>
        )}
        {planError && (submitted || mode !== "single") && <p className="text-sm text-red-700">{planError}</p>}
      </fieldset>

      <HyperparamsFields
        values={values}
        errors={visible}
        onChange={(path, value) => {
          setValues((prev) => ({ ...prev, [path]: value }));
          touch(path);
        }}
      />

      <div className="flex items-center gap-4">
        <button
          type="submit"
          disabled={create.isPending}
          className="rounded bg-indigo-600 px-5 py-2 text-sm font-medium text-white hover:bg-indigo-700 disabled:opacity-50"
        >
          {create.isPending ? "Creating…" : `Create and queue ${runCount} run${runCount === 1 ? "" : "s"}`}
        </button>
        {submitted && !validation.success && (
          <span className="text-sm text-red-700">Fix the highlighted fields first.</span>
        )}
      </div>
    </form>
  );
}

/** A row of checkboxes choosing any of `options` (grid axes, random-search choices). */
function Choices<T extends string>({
  title,
  ariaPrefix,
  options,
  chosen,
  onChange,
}: {
  title: string;
  ariaPrefix: string;
  options: readonly T[];
  chosen: T[];
  onChange: (chosen: T[]) => void;
}) {
  return (
    <div>
      <span className="mb-1 block text-xs font-medium text-slate-600">{title}</span>
      {options.map((option) => (
        <label key={option} className="mr-3 inline-flex items-center gap-1">
          <input
            type="checkbox"
            aria-label={`${ariaPrefix} ${option}`}
            checked={chosen.includes(option)}
            onChange={(e) =>
              onChange(e.target.checked ? [...chosen, option] : chosen.filter((x) => x !== option))
            }
          />
          {option}
        </label>
      ))}
    </div>
  );
}
