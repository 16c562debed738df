import { z } from "zod";
import { createTRPCRouter, publicProcedure, writeProcedure } from "@/server/api/trpc";
import { metricHistory, recordMetrics } from "@/server/services/metrics";
import { metricBatchSchema } from "@/shared/metrics";

export const metricsRouter = createTRPCRouter({
  /** A batch of points for one run; idempotent per (run, key, step). */
  log: writeProcedure
    .input(metricBatchSchema)
    .mutation(({ ctx, input }) => recordMetrics(ctx.db, input.runId, input.points)),
  history: publicProcedure
    .input(
      z.object({
        runId: z.number().int().positive(),
        keys: z.array(z.string().min(1).max(200)).min(1).max(50),
      }),
    )
    .query(({ ctx, input }) => metricHistory(ctx.db, input.runId, input.keys)),
});
