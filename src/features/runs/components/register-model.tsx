"use client";
// Registers a succeeded run's model as a new version of a named model.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { buttonClass } from "@/components/ui";
import { useTRPC } from "@/lib/trpc";

export const DEFAULT_MODEL_NAME = "cifar10-classifier";

export function RegisterModel({ runId }: { runId: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState(DEFAULT_MODEL_NAME);
  const [description, setDescription] = useState("");
  const register = useMutation(
    trpc.model.register.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.model.pathKey() }),
    }),
  );
  if (register.data)
    return (
      <p className="text-sm text-emerald-800" role="status">
        Registered as{" "}
        <Link className="font-medium underline" href={`/models/${encodeURIComponent(name)}`}>
          {name} version {register.data.version}
        </Link>
        .
      </p>
    );
  return (
    <form
      className="flex flex-wrap items-center gap-2 text-sm"
      onSubmit={(e) => {
        e.preventDefault();
        register.mutate({ runId, name, description });
      }}
    >
      <input
        aria-label="Model name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        className="rounded border border-slate-300 px-2 py-1"
      />
      <input
        aria-label="Version description"
        placeholder="What is new in this version?"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
        className="w-64 rounded border border-slate-300 px-2 py-1"
      />
      <button type="submit" className={buttonClass.primary} disabled={register.isPending}>
        Register model
      </button>
      {register.error && <span className="text-red-700">{register.error.message}</span>}
    </form>
  );
}
