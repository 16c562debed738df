import { createTRPCRouter, readProcedure } from "@/server/api/trpc";
import { compareRuns, groupBands } from "@/server/services/compare";
import { metricHistorySchema, runIdsSchema } from "@/shared/metrics";

export const compareRouter = createTRPCRouter({
  /** Runs side by side: parameters with differences marked, seed groups, significance test. */
  runs: readProcedure.input(runIdsSchema).query(({ ctx, input }) => compareRuns(ctx.db, input.runIds)),
  /** Mean ± 95% CI per seed group, step and key. */
  bands: readProcedure
    .input(metricHistorySchema)
    .query(({ ctx, input }) => groupBands(ctx.db, input.runIds, input.keys, input.maxPoints)),
});
