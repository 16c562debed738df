// Small building blocks every dashboard page shares.
import Link from "next/link";
import type { ReactNode } from "react";

/** The trail above a page's title: "Experiments / sfs-vs-zscore /". */
export function Breadcrumbs({ trail }: { trail: { href: string; label: string }[] }) {
  return (
    <div className="text-sm text-slate-500">
      {trail.map((step) => (
        <span key={step.href}>
          <Link href={step.href} className="hover:underline">
            {step.label}
          </Link>{" "}
          /{" "}
        </span>
      ))}
    </div>
  );
}

export const buttonClass = {
  primary:
    "rounded bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 disabled:cursor-not-allowed disabled:opacity-50",
  secondary:
    "rounded border border-slate-300 bg-white px-3 py-1.5 text-sm text-slate-700 hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-50",
  danger:
    "rounded border border-red-300 bg-white px-3 py-1.5 text-sm text-red-700 hover:bg-red-50 disabled:cursor-not-allowed disabled:opacity-50",
} as const;

export function Panel({
  title,
  actions,
  children,
  testId,
}: {
  title: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <section className="rounded border border-slate-200 bg-white" data-testid={testId}>
      <div className="flex items-center justify-between gap-4 border-b border-slate-100 px-4 py-2">
        <h2 className="text-sm font-semibold text-slate-700">{title}</h2>
        {actions}
      </div>
      <div className="p-4">{children}</div>
    </section>
  );
}

export function ErrorNote({ error }: { error: { message: string } | null | undefined }) {
  if (!error) return null;
  return (
    <p className="rounded bg-red-50 p-3 text-sm text-red-700" role="alert">
      {error.message}
    </p>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return <p className="text-sm text-slate-500">{what}…</p>;
}
