// The one root router: every feature's router is merged here.
import { authRouter } from "@/server/api/routers/auth";
import { compareRouter } from "@/server/api/routers/compare";
import { evaluationSetsRouter } from "@/server/api/routers/evaluation-sets";
import { experimentsRouter } from "@/server/api/routers/experiments";
import { metricsRouter } from "@/server/api/routers/metrics";
import { modelsRouter } from "@/server/api/routers/models";
import { runsRouter } from "@/server/api/routers/runs";
import { workersRouter } from "@/server/api/routers/workers";
import { createTRPCRouter } from "@/server/api/trpc";

export const appRouter = createTRPCRouter({
  auth: authRouter,
  experiment: experimentsRouter,
  run: runsRouter,
  metric: metricsRouter,
  worker: workersRouter,
  compare: compareRouter,
  model: modelsRouter,
  evaluationSet: evaluationSetsRouter,
});

export type AppRouter = typeof appRouter;
