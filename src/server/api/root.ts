// The one root router: every feature's router is merged here.
import { experimentsRouter } from "@/server/api/routers/experiments";
import { runsRouter } from "@/server/api/routers/runs";
import { createCallerFactory, createTRPCRouter } from "@/server/api/trpc";

export const appRouter = createTRPCRouter({
  experiment: experimentsRouter,
  run: runsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
