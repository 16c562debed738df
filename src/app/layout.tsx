import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { MlflowLinks } from "@/components/mlflow-links";
import { AccountMenu } from "@/features/auth/components/account-menu";
import { TRPCReactProvider } from "@/lib/trpc";
import "./globals.css";

export const metadata: Metadata = {
  title: "Labbook",
  description: "Experiment tracking for image classifiers",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <header className="border-b border-slate-200 bg-white">
            <nav className="mx-auto flex max-w-[1600px] items-center gap-6 px-6 py-3">
              <Link href="/experiments" className="text-lg font-semibold tracking-tight text-indigo-700">
                Labbook
              </Link>
              {[
                ["/experiments", "Experiments"],
                ["/compare", "Compare"],
                ["/models", "Models"],
                ["/predict", "Predict"],
              ].map(([href, label]) => (
                <Link
                  key={href}
                  href={href as string}
                  className="text-sm text-slate-600 hover:text-slate-900"
                >
                  {label}
                </Link>
              ))}
              <AccountMenu />
            </nav>
          </header>
          <MlflowLinks />
          <main className="mx-auto max-w-[1600px] px-6 py-8">{children}</main>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
