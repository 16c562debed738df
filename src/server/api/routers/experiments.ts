import { createTRPCRouter, publicProcedure, writeProcedure } from "@/server/api/trpc";
import {
  createExperiment,
  getExperiment,
  listExperiments,
  renameExperiment,
  setExperimentArchived,
} from "@/server/services/experiments";
import {
  byIdSchema,
  experimentArchiveSchema,
  experimentCreateSchema,
  experimentListSchema,
  experimentRenameSchema,
} from "@/shared/experiments";

export const experimentsRouter = createTRPCRouter({
  create: writeProcedure
    .input(experimentCreateSchema)
    .mutation(({ ctx, input }) => createExperiment(ctx.db, input)),
  list: publicProcedure
    .input(experimentListSchema.prefault({}))
    .query(({ ctx, input }) => listExperiments(ctx.db, input)),
  get: publicProcedure.input(byIdSchema).query(({ ctx, input }) => getExperiment(ctx.db, input.id)),
  rename: writeProcedure
    .input(experimentRenameSchema)
    .mutation(({ ctx, input }) => renameExperiment(ctx.db, input.id, input.name)),
  archive: writeProcedure
    .input(experimentArchiveSchema)
    .mutation(({ ctx, input }) => setExperimentArchived(ctx.db, input.id, input.archived)),
});
