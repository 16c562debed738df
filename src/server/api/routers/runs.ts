import { createTRPCRouter, publicProcedure, writeProcedure } from "@/server/api/trpc";
import { listArtifacts } from "@/server/services/artifacts";
import { requestCancel } from "@/server/services/queue";
import { getRun, listRuns, queueRuns } from "@/server/services/runs";
import { byIdSchema, runCreateSchema, runListSchema } from "@/shared/experiments";

export const runsRouter = createTRPCRouter({
  /** Queues one run per seed (default: the config's seed); the config's defaults are the seed notebook's. */
  create: writeProcedure.input(runCreateSchema).mutation(({ ctx, input }) => {
    const { experimentId, ...spec } = input;
    return ctx.db.$transaction((tx) => queueRuns(tx, experimentId, [spec]));
  }),
  list: publicProcedure.input(runListSchema.prefault({})).query(({ ctx, input }) => listRuns(ctx.db, input)),
  get: publicProcedure.input(byIdSchema).query(({ ctx, input }) => getRun(ctx.db, input.id)),
  artifacts: publicProcedure.input(byIdSchema).query(({ ctx, input }) => listArtifacts(ctx.db, input.id)),
  /** A queued run is cancelled at once; a running one stops at its worker's next batch. */
  cancel: writeProcedure.input(byIdSchema).mutation(({ ctx, input }) => requestCancel(ctx.db, input.id)),
});
