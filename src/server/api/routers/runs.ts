import { adminProcedure, createTRPCRouter, readProcedure, writeProcedure } from "@/server/api/trpc";
import { listArtifacts } from "@/server/services/artifacts";
import { readEvaluation } from "@/server/services/evaluations";
import { requestCancel, resumeRuns } from "@/server/services/queue";
import {
  getRun,
  listRuns,
  purgeDeletedRuns,
  queueRuns,
  requeueRuns,
  runLogs,
  softDeleteRuns,
} from "@/server/services/runs";
import {
  byIdSchema,
  runCreateSchema,
  runDeleteSchema,
  runEvaluationSchema,
  runIdListSchema,
  runListSchema,
  runLogsSchema,
  runPurgeSchema,
} from "@/shared/experiments";

export const runsRouter = createTRPCRouter({
  /** Queues one run per seed (default: the config's seed); the config's defaults are the seed notebook's. */
  create: writeProcedure.input(runCreateSchema).mutation(({ ctx, input }) => {
    const { experimentId, ...spec } = input;
    return ctx.db.$transaction((tx) => queueRuns(tx, experimentId, [spec]));
  }),
  list: readProcedure.input(runListSchema.prefault({})).query(({ ctx, input }) => listRuns(ctx.db, input)),
  get: readProcedure.input(byIdSchema).query(({ ctx, input }) => getRun(ctx.db, input.id)),
  artifacts: readProcedure.input(byIdSchema).query(({ ctx, input }) => listArtifacts(ctx.db, input.id)),
  logs: readProcedure
    .input(runLogsSchema)
    .query(({ ctx, input }) => runLogs(ctx.db, input.id, input.after ? BigInt(input.after) : undefined)),
  /** Which evaluations a run has (for the confusion matrix's epoch slider), without their bulk. */
  evaluations: readProcedure.input(byIdSchema).query(({ ctx, input }) =>
    ctx.db.evaluation.findMany({
      where: { runId: input.id, run: { deletedAt: null } },
      orderBy: [{ split: "asc" }, { epoch: "asc" }],
      select: { id: true, split: true, epoch: true, accuracy: true, loss: true, createdAt: true },
    }),
  ),
  evaluation: readProcedure
    .input(runEvaluationSchema)
    .query(({ ctx, input }) => readEvaluation(ctx.db, input.id, input.split, input.epoch)),
  /** A queued run is cancelled at once; a running one stops at its worker's next batch. */
  cancel: writeProcedure.input(byIdSchema).mutation(({ ctx, input }) => requestCancel(ctx.db, input.id)),
  /** Queues cancelled or failed runs again, to continue from their last checkpoint. */
  resume: writeProcedure.input(runIdListSchema).mutation(({ ctx, input }) => resumeRuns(ctx.db, input.ids)),
  /** Queues a fresh copy of each finished run. */
  requeue: writeProcedure.input(runIdListSchema).mutation(({ ctx, input }) => requeueRuns(ctx.db, input.ids)),
  /** Soft delete (deleted: true) or restore (deleted: false). */
  delete: writeProcedure
    .input(runDeleteSchema)
    .mutation(({ ctx, input }) => softDeleteRuns(ctx.db, input.ids, input.deleted, ctx.actor)),
  /** Frees soft-deleted runs and everything stored with them, for good. */
  purge: adminProcedure
    .input(runPurgeSchema)
    .mutation(({ ctx, input }) => purgeDeletedRuns(ctx.db, input.experimentId, ctx.actor)),
});
