import { createTRPCRouter, readProcedure, writeProcedure } from "@/server/api/trpc";
import { getModel, listModels, promote, registerVersion, rollback } from "@/server/services/registry";
import {
  modelByNameSchema,
  modelPromoteSchema,
  modelRegisterSchema,
  modelRollbackSchema,
} from "@/shared/registry";

export const modelsRouter = createTRPCRouter({
  list: readProcedure.query(({ ctx }) => listModels(ctx.db)),
  get: readProcedure.input(modelByNameSchema).query(({ ctx, input }) => getModel(ctx.db, input.name)),
  /** A succeeded run's model becomes the next version of the named model. */
  register: writeProcedure
    .input(modelRegisterSchema)
    .mutation(({ ctx, input }) => registerVersion(ctx.db, { ...input, actor: ctx.actor })),
  promote: writeProcedure
    .input(modelPromoteSchema)
    .mutation(({ ctx, input }) => promote(ctx.db, { ...input, actor: ctx.actor })),
  rollback: writeProcedure
    .input(modelRollbackSchema)
    .mutation(({ ctx, input }) => rollback(ctx.db, { ...input, actor: ctx.actor })),
});
