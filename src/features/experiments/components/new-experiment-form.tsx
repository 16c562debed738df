"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useMemo, useState } from "react";
import { useTRPC } from "@/lib/trpc";
import { experimentCreateSchema } from "@/shared/experiments";
import { DEFAULT_HYPERPARAMS } from "@/shared/hyperparams";
import {
  type FormValues,
  fromFormValues,
  issuesByPath,
  parseSeeds,
  toFormValues,
} from "../hyperparams-form-model";
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
  const [values, setValues] = useState<FormValues>(() => toFormValues(DEFAULT_HYPERPARAMS));
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [submitted, setSubmitted] = useState(false);

  const seeds = parseSeeds(seedsText);
  const validation = useMemo(() => {
    const config = fromFormValues(values);
    const runs = typeof seeds === "string" ? [] : [{ config: { ...config, seed: seeds[0] }, seeds }];
    return experimentCreateSchema.safeParse({ name, description, runs });
  }, [name, description, values, seeds]);

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
    if (validation.success) create.mutate(validation.data);
  }

  const runCount = typeof seeds === "string" ? 0 : seeds.length;
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-6" aria-label="New experiment">
      <div className="flex items-baseline justify-between">
        <h1 className="text-2xl font-semibold">New experiment</h1>
        <button
          type="button"
          className="text-sm text-slate-600 hover:text-slate-900"
          onClick={() => setValues(toFormValues(DEFAULT_HYPERPARAMS))}
        >
          Reset to the seed recipe
        </button>
      </div>
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

      <p className="text-sm text-slate-600">
        Defaults are the seed notebook&apos;s recipe: VGG-style CNN, Adam 5e-4, batch 64, up to 250 epochs.
      </p>
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
