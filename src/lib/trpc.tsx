"use client";
// The browser's tRPC client and react-query cache.
import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { inferRouterOutputs } from "@trpc/server";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { type ReactNode, useState } from "react";
import { csrfHeaders } from "@/features/auth/csrf";
import type { AppRouter } from "@/server/api/root";
import { MAX_BATCH_SIZE } from "@/shared/api";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** Key under which a user's API token is kept in the browser (needed when not on this machine). */
export const TOKEN_STORAGE_KEY = "labbook.apiToken";

/** A read refused for want of a sign-in sends the browser to the sign-in page, and back after. */
function signInWhenRefused(error: unknown) {
  if (!(error instanceof TRPCClientError) || error.data?.httpStatus !== 401) return;
  // A pasted API token that no longer works would refuse every call, signed in or not.
  if (window.localStorage.getItem(TOKEN_STORAGE_KEY)) {
    window.localStorage.removeItem(TOKEN_STORAGE_KEY);
    window.location.reload();
    return;
  }
  if (window.location.pathname === "/signin") return;
  const next = `${window.location.pathname}${window.location.search}`;
  window.location.assign(`/signin?next=${encodeURIComponent(next)}`);
}

/** A refusal (4xx) would be refused again; a failed connection or a server error may pass. */
function retryUnlessRefused(failures: number, error: unknown) {
  const status = error instanceof TRPCClientError ? error.data?.httpStatus : undefined;
  return failures < 2 && !(typeof status === "number" && status >= 400 && status < 500);
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: { queries: { staleTime: 5_000, retry: retryUnlessRefused } },
        queryCache: new QueryCache({ onError: signInWhenRefused }),
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        httpBatchLink({
          url: "/api/trpc",
          maxItems: MAX_BATCH_SIZE,
          headers() {
            const token = window.localStorage.getItem(TOKEN_STORAGE_KEY);
            return { ...csrfHeaders(), ...(token ? { authorization: `Bearer ${token}` } : {}) };
          },
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
