// Unexpected errors reach the client as an id to quote, never as their message.
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { describe, expect, it, vi } from "vitest";
import { createTRPCRouter, publicProcedure } from "@/server/api/trpc";

const router = createTRPCRouter({
  boom: publicProcedure.query(() => {
    throw new Error(
      'Invalid `prisma.run.findFirst()` invocation in /srv/labbook/src/server/services/runs.ts: SELECT "secret"',
    );
  }),
});

describe("internal errors", () => {
  it("are masked in the response and logged with the same id", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request("http://127.0.0.1/api/trpc/boom"),
      router,
      createContext: () => ({
        db: {} as never,
        credentials: {
          remoteAddress: "127.0.0.1",
          bearerToken: null,
          basic: null,
          sessionToken: null,
          csrfToken: null,
        },
      }),
    });
    const body = (await response.json()) as { error: { message: string } };
    expect(response.status).toBe(500);
    const id = /^internal error ([0-9a-f]{8}); the server's log has the details$/.exec(
      body.error.message,
    )?.[1];
    expect(id).toBeDefined();
    expect(JSON.stringify(body)).not.toMatch(/prisma|secret|runs\.ts|SELECT/);
    expect(String(logged.mock.calls[0]?.[0])).toContain(`[error ${id}]`);
    logged.mockRestore();
  });
});
