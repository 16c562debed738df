// Evaluation sets: the user's own labelled images (uploaded through
// POST /api/evaluation-sets), scored against any model version.
import { createTRPCRouter, readProcedure, writeProcedure } from "@/server/api/trpc";
import {
  getEvaluationSet,
  getSetEvaluation,
  listEvaluationSets,
  modelSetScores,
} from "@/server/evaluation-sets/queries";
import { queueSetEvaluations } from "@/server/evaluation-sets/score-set";
import {
  evaluationSetByIdSchema,
  evaluationSetScoreSchema,
  setEvaluationSchema,
} from "@/shared/evaluation-sets";
import { modelByNameSchema } from "@/shared/registry";

export const evaluationSetsRouter = createTRPCRouter({
  list: readProcedure.query(({ ctx }) => listEvaluationSets(ctx.db)),
  get: readProcedure
    .input(evaluationSetByIdSchema)
    .query(({ ctx, input }) => getEvaluationSet(ctx.db, input.id)),
  /** One version's report on one set: accuracy, confusion matrix, per-class, misclassified. */
  result: readProcedure
    .input(setEvaluationSchema)
    .query(({ ctx, input }) => getSetEvaluation(ctx.db, input.setId, input.versionId)),
  /** The model page's table: every set, and each version's score on it. */
  scores: readProcedure
    .input(modelByNameSchema)
    .query(({ ctx, input }) => modelSetScores(ctx.db, input.name)),
  /** Queues (again) the scoring of versions on a set. */
  score: writeProcedure
    .input(evaluationSetScoreSchema)
    .mutation(({ ctx, input }) => queueSetEvaluations(ctx.db, input.setId, input.versionIds, ctx.actor)),
  remove: writeProcedure.input(evaluationSetByIdSchema).mutation(async ({ ctx, input }) => {
    await ctx.db.evaluationSet.delete({ where: { id: input.id } });
    return { id: input.id };
  }),
});
