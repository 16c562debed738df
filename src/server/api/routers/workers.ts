import { createTRPCRouter, writeProcedure } from "@/server/api/trpc";
import { claimRun, expireLeases, finishRun, heartbeat } from "@/server/services/queue";
import {
  workerClaimSchema,
  workerEvaluationSchema,
  workerFinishSchema,
  workerHeartbeatSchema,
  workerLogSchema,
  workerRegisterSchema,
} from "@/shared/workers";

/** The protocol trainer workers speak: register, claim a run, keep its lease, end it. */
export const workersRouter = createTRPCRouter({
  register: writeProcedure.input(workerRegisterSchema).mutation(({ ctx, input }) => {
    const data = {
      host: input.host,
      backend: input.backend,
      info: input.info as object,
      lastHeartbeatAt: new Date(),
    };
    return ctx.db.worker.upsert({
      where: { name: input.name },
      create: { name: input.name, ...data },
      update: data,
    });
  }),
  claim: writeProcedure.input(workerClaimSchema).mutation(async ({ ctx, input }) => {
    // Runs of workers that died go back to the queue before anything is handed out.
    await expireLeases(ctx.db);
    await ctx.db.worker.update({ where: { id: input.workerId }, data: { lastHeartbeatAt: new Date() } });
    return claimRun(ctx.db, input.workerId, input.leaseMs);
  }),
  heartbeat: writeProcedure
    .input(workerHeartbeatSchema)
    .mutation(({ ctx, input }) =>
      heartbeat(ctx.db, input.runId, input.workerId, input.leaseMs, input.progress),
    ),
  /** The test-set evaluation; the final one (epoch 0) also fills the run's test columns. */
  evaluation: writeProcedure.input(workerEvaluationSchema).mutation(async ({ ctx, input }) => {
    const { split, epoch, count: _count, ...values } = input.evaluation;
    await ctx.db.$transaction(async (tx) => {
      await tx.evaluation.upsert({
        where: { runId_split_epoch: { runId: input.runId, split, epoch } },
        create: { runId: input.runId, split, epoch, ...values },
        update: values,
      });
      if (split === "test" && epoch === 0) {
        await tx.run.update({
          where: { id: input.runId },
          data: { testAccuracy: values.accuracy, testLoss: values.loss },
        });
      }
    });
    return { ok: true };
  }),
  log: writeProcedure.input(workerLogSchema).mutation(async ({ ctx, input }) => {
    const rows = input.lines.map((line) => ({
      runId: input.runId,
      level: line.level,
      message: line.message,
      time: line.time ? new Date(line.time) : new Date(),
    }));
    return { stored: (await ctx.db.runLog.createMany({ data: rows })).count };
  }),
  finish: writeProcedure
    .input(workerFinishSchema)
    .mutation(({ ctx, input }) =>
      finishRun(ctx.db, input.runId, input.workerId, { status: input.status, error: input.error }),
    ),
});
