import { createTRPCRouter, readProcedure, writeProcedure } from "@/server/api/trpc";
import {
  createExperiment,
  getExperiment,
  listExperiments,
  renameExperiment,
  setExperimentArchived,
} from "@/server/services/experiments";
import {
  experimentArchiveSchema,
  experimentByIdSchema,
  experimentCreateSchema,
  experimentListSchema,
  experimentRenameSchema,
} from "@/shared/experiments";

export const experimentsRouter = createTRPCRouter({
  create: writeProcedure
    .input(experimentCreateSchema)
    .mutation(({ ctx, input }) => createExperiment(ctx.db, input)),
  list: readProcedure
    .input(experimentListSchema.prefault({}))
    .query(({ ctx, input }) => listExperiments(ctx.db, input)),
  get: readProcedure.input(experimentByIdSchema).query(({ ctx, input }) => getExperiment(ctx.db, input.id)),
  rename: writeProcedure
    .input(experimentRenameSchema)
    .mutation(({ ctx, input }) => renameExperiment(ctx.db, input.id, input.name)),
  archive: writeProcedure
    .input(experimentArchiveSchema)
    .mutation(({ ctx, input }) => setExperimentArchived(ctx.db, input.id, input.archived)),
});
