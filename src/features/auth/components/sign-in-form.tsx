"use client";
import { useSearchParams } from "next/navigation";
import { type FormEvent, useState } from "react";
import { buttonClass, ErrorNote } from "@/components/ui";
import { sameOriginPath, signInSchema } from "@/shared/auth";
import { describeIssue } from "@/shared/zod-issues";

export function SignInForm() {
  const next = useSearchParams().get("next");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = signInSchema.safeParse({ name: form.get("name"), password: form.get("password") });
    if (!input.success) return setError(input.error.issues.map(describeIssue).join("; "));
    setPending(true);
    setError(null);
    try {
      const response = await fetch("/api/auth/signin", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(input.data),
      });
      if (response.ok) return window.location.assign(sameOriginPath(next, window.location.origin));
      const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
      setError(body?.error?.message ?? `sign-in failed (${response.status})`);
    } finally {
      setPending(false);
    }
  };
  return (
    <form
      onSubmit={submit}
      className="mx-auto mt-12 max-w-sm space-y-4 rounded border border-slate-200 bg-white p-6"
    >
      <h1 className="text-xl font-semibold">Sign in to Labbook</h1>
      <label className="block text-sm">
        User name
        <input
          name="name"
          autoComplete="username"
          required
          className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
        />
      </label>
      <label className="block text-sm">
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
        />
      </label>
      <ErrorNote error={error ? { message: error } : null} />
      <button type="submit" disabled={pending} className={`${buttonClass.primary} w-full`}>
        {pending ? "Signing in…" : "Sign in"}
      </button>
      <p className="text-xs text-slate-500">
        Accounts are made by an admin on the server: <code>npm run user -- create NAME --role editor</code>
      </p>
    </form>
  );
}
