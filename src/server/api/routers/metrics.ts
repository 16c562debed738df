import { createTRPCRouter, readProcedure, writeProcedure } from "@/server/api/trpc";
import { downsampledHistory, metricKeys, recordMetrics } from "@/server/services/metrics";
import { assertWorkerMayWrite } from "@/server/services/run-writers";
import { metricBatchSchema, metricHistorySchema, runIdsSchema } from "@/shared/metrics";

export const metricsRouter = createTRPCRouter({
  /** A batch of points for one run; idempotent per (run, key, step). */
  log: writeProcedure.input(metricBatchSchema).mutation(async ({ ctx, input }) => {
    await assertWorkerMayWrite(ctx.db, input.runId, ctx.identity);
    return recordMetrics(ctx.db, input.runId, input.points);
  }),
  /** Histories of several runs, each key in at most maxPoints buckets (mean, min, max). */
  history: readProcedure
    .input(metricHistorySchema)
    .query(({ ctx, input }) => downsampledHistory(ctx.db, input.runIds, input.keys, input.maxPoints)),
  keys: readProcedure.input(runIdsSchema).query(({ ctx, input }) => metricKeys(ctx.db, input.runIds)),
});
