import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { createTRPCRouter, writeProcedure } from "@/server/api/trpc";
import { storeEvaluation } from "@/server/services/evaluations";
import { claimRun, expireLeases, finishRun, heartbeat, releaseRun } from "@/server/services/queue";
import { assertWorkerMayWrite } from "@/server/services/run-writers";
import { dbId } from "@/shared/ids";
import {
  workerClaimSchema,
  workerEvaluationSchema,
  workerFinishSchema,
  workerHeartbeatSchema,
  workerLogSchema,
  workerRegisterSchema,
  workerReleaseSchema,
} from "@/shared/workers";

/** Procedures only a trainer calls: with an API token, or from this machine. */
const workerProcedure = writeProcedure.use(({ ctx, next }) => {
  // A browser session must not act as (or take over) a local worker, whose token is null too.
  if (ctx.identity.kind === "session")
    throw new TRPCError({ code: "FORBIDDEN", message: "workers sign in with an API token, not a session" });
  return next();
});

/**
 * Procedures that act as a registered worker: only the token that registered it may (a write
 * token must not claim or end runs in another worker's name).
 */
const registeredWorkerProcedure = workerProcedure
  .input(z.object({ workerId: dbId }))
  .use(async ({ ctx, input, next }) => {
    const worker = await ctx.db.worker.findUnique({
      where: { id: input.workerId },
      select: { tokenId: true },
    });
    if (!worker)
      throw new TRPCError({ code: "NOT_FOUND", message: `worker ${input.workerId} is not registered` });
    if (worker.tokenId !== ctx.tokenId)
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `worker ${input.workerId} was registered with another token; only that token may act for it`,
      });
    return next();
  });

/** The protocol trainer workers speak: register, claim a run, keep its lease, end it. */
export const workersRouter = createTRPCRouter({
  /** The first token to register a name owns it (until revoked); a restarting worker re-registers with it. */
  register: workerProcedure.input(workerRegisterSchema).mutation(async ({ ctx, input }) => {
    const existing = await ctx.db.worker.findUnique({
      where: { name: input.name },
      select: { tokenId: true },
    });
    // A name stays with its token, unless that token was revoked: then it is free again.
    const owner = existing?.tokenId
      ? await ctx.db.apiToken.findUnique({ where: { id: existing.tokenId }, select: { revokedAt: true } })
      : null;
    if (existing && existing.tokenId !== ctx.tokenId && !owner?.revokedAt)
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `the worker name "${input.name}" belongs to another token; pick another name`,
      });
    const data = {
      host: input.host,
      backend: input.backend,
      info: input.info,
      lastHeartbeatAt: new Date(),
    };
    return ctx.db.worker.upsert({
      where: { name: input.name },
      create: { name: input.name, tokenId: ctx.tokenId, ...data },
      update: { ...data, tokenId: ctx.tokenId },
    });
  }),
  claim: registeredWorkerProcedure.input(workerClaimSchema).mutation(async ({ ctx, input }) => {
    // Runs of workers that died go back to the queue before anything is handed out.
    await expireLeases(ctx.db);
    await ctx.db.worker.update({ where: { id: input.workerId }, data: { lastHeartbeatAt: new Date() } });
    return claimRun(ctx.db, input.workerId, input.leaseMs);
  }),
  heartbeat: registeredWorkerProcedure
    .input(workerHeartbeatSchema)
    .mutation(({ ctx, input }) =>
      heartbeat(ctx.db, input.runId, input.workerId, input.leaseMs, input.progress),
    ),
  /** The test-set evaluation; the final one (epoch 0) also fills the run's test columns. */
  evaluation: registeredWorkerProcedure.input(workerEvaluationSchema).mutation(async ({ ctx, input }) => {
    await storeEvaluation(ctx.db, input.runId, input.evaluation, input.workerId);
    return { ok: true };
  }),
  log: workerProcedure.input(workerLogSchema).mutation(async ({ ctx, input }) => {
    await assertWorkerMayWrite(ctx.db, input.runId, ctx.identity);
    const rows = input.lines.map((line) => ({
      runId: input.runId,
      level: line.level,
      message: line.message,
      time: line.time ? new Date(line.time) : new Date(),
    }));
    return { stored: (await ctx.db.runLog.createMany({ data: rows })).count };
  }),
  /** A stopping worker hands its run back to the queue (running → queued). */
  release: registeredWorkerProcedure
    .input(workerReleaseSchema)
    .mutation(({ ctx, input }) => releaseRun(ctx.db, input.runId, input.workerId)),
  finish: registeredWorkerProcedure.input(workerFinishSchema).mutation(({ ctx, input }) =>
    finishRun(ctx.db, input.runId, input.workerId, {
      status: input.status,
      error: input.error,
      modelEpoch: input.modelEpoch,
    }),
  ),
});
