import { createTRPCRouter, writeProcedure } from "@/server/api/trpc";
import { claimRun, expireLeases, finishRun, heartbeat } from "@/server/services/queue";
import {
  workerClaimSchema,
  workerFinishSchema,
  workerHeartbeatSchema,
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
    .mutation(({ ctx, input }) => heartbeat(ctx.db, input.runId, input.workerId, input.leaseMs)),
  finish: writeProcedure
    .input(workerFinishSchema)
    .mutation(({ ctx, input }) =>
      finishRun(ctx.db, input.runId, input.workerId, { status: input.status, error: input.error }),
    ),
});
