"use client";
// The header's corner: who the dashboard acts as, with sign in or sign out.
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useAccess } from "../use-access";

export function AccountMenu() {
  const { me } = useAccess();
  const pathname = usePathname();
  const queryClient = useQueryClient();
  if (!me) return null;
  const signOut = async () => {
    await fetch("/api/auth/signout", { method: "POST" });
    queryClient.clear();
    window.location.assign(me.requireLogin ? "/signin" : pathname);
  };
  return (
    <div className="ml-auto flex items-center gap-3 text-sm" data-testid="account">
      {me.user ? (
        <>
          <span className="text-slate-700">
            {me.user.name} <span className="text-slate-400">({me.user.role})</span>
          </span>
          <button type="button" onClick={signOut} className="text-slate-500 hover:text-slate-900">
            Sign out
          </button>
        </>
      ) : (
        <>
          <span
            className="text-slate-400"
            title="Without a sign-in, this machine may read and write; others may read."
          >
            {me.kind === "local" ? "local (no sign-in)" : me.kind === "token" ? me.actor : "not signed in"}
          </span>
          {me.kind !== "token" && (
            <Link
              href={`/signin?next=${encodeURIComponent(pathname)}`}
              className="rounded border border-slate-300 px-2 py-1 text-slate-700 hover:bg-slate-50"
            >
              Sign in
            </Link>
          )}
        </>
      )}
    </div>
  );
}
