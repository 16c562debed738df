"use client";
// What the current visitor may do, from auth.me: the dashboard hides what the server would refuse.
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc";

const RANK = { read: 0, write: 1, admin: 2 } as const;
export type Scope = keyof typeof RANK;

export function useAccess() {
  const trpc = useTRPC();
  const me = useQuery({ ...trpc.auth.me.queryOptions(), staleTime: 60_000 });
  const scope = me.data?.scope ?? null;
  return {
    me: me.data,
    /** Until auth.me answers, nothing is offered (rather than offered, then taken away). */
    can: (needed: Scope) => scope !== null && RANK[scope] >= RANK[needed],
  };
}
