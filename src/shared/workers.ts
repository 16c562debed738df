// Inputs of the worker protocol, shared by the API and workers.
import { z } from "zod";

const id = z.number().int().positive();

export const workerRegisterSchema = z.object({
  name: z.string().trim().min(1).max(120),
  host: z.string().trim().min(1).max(255),
  backend: z.string().trim().min(1).max(60),
  /** CPU model and count, memory, GPU name: shown on the run page. */
  info: z.record(z.string(), z.unknown()).default({}),
});

export const workerClaimSchema = z.object({
  workerId: id,
  leaseMs: z.number().int().min(5_000).max(3_600_000).optional(),
});
export const workerHeartbeatSchema = z.object({
  workerId: id,
  runId: id,
  leaseMs: z.number().int().min(5_000).max(3_600_000).optional(),
});
export const workerFinishSchema = z.object({
  workerId: id,
  runId: id,
  status: z.enum(["succeeded", "failed", "cancelled"]),
  error: z.string().max(20_000).optional(),
});
