"use client";
// The random search an experiment was made from, and one click to queue it again (the same
// sampler seed gives the same configs) as a new experiment.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { buttonClass, ErrorNote } from "@/components/ui";
import { useAccess } from "@/features/auth/use-access";
import { useTRPC } from "@/lib/trpc";
import { describeSpace, randomSearchSchema } from "@/shared/random-search";

export function SearchSummary({ name, search }: { name: string; search: unknown }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const { can } = useAccess();
  const again = useMutation(
    trpc.experiment.create.mutationOptions({
      onSuccess: async (experiment) => {
        await queryClient.invalidateQueries({ queryKey: trpc.experiment.list.queryKey() });
        router.push(`/experiments/${experiment.id}`);
      },
    }),
  );
  const parsed = randomSearchSchema.safeParse(search);
  if (!parsed.success) return null;
  const { count, samplerSeed, space, seeds } = parsed.data;
  const stamp = new Date().toISOString().slice(0, 16).replace("T", " ");
  return (
    <div
      className="mt-2 flex flex-wrap items-center gap-3 rounded bg-indigo-50 px-3 py-2 text-sm text-indigo-900"
      data-testid="search-summary"
    >
      <span>
        Random search: {count} configs × {seeds?.length ?? 1} seed{(seeds?.length ?? 1) === 1 ? "" : "s"},
        sampler seed <span className="font-mono">{samplerSeed}</span>; {describeSpace(space)}.
      </span>
      {can("write") && (
        <button
          type="button"
          className={buttonClass.secondary}
          disabled={again.isPending}
          onClick={() => again.mutate({ name: `${name.slice(0, 90)} · again ${stamp}`, search: parsed.data })}
        >
          Queue this search again
        </button>
      )}
      <ErrorNote error={again.error} />
    </div>
  );
}
