// Environment configuration for the server process, validated once at start.
import { z } from "zod";

const list = (value: string) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

const flag = z
  .enum(["0", "1", "true", "false"])
  .default("0")
  .transform((v) => v === "1" || v === "true");

const envSchema = z.object({
  LABBOOK_HOST: z.string().min(1).default("127.0.0.1"),
  LABBOOK_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LABBOOK_TRUST_PROXY: flag,
  /** Comma-separated addresses of the reverse proxy (loopback is always trusted). */
  LABBOOK_TRUSTED_PROXIES: z.string().default("").transform(list),
  /** Comma-separated host names clients use to reach Labbook, besides loopback and LABBOOK_HOST. */
  LABBOOK_ALLOWED_HOSTS: z.string().default("").transform(list),
  /** 1: every request, reads included and from this machine too, needs a session or a token. */
  LABBOOK_REQUIRE_LOGIN: flag,
  /** Runs one call may queue (one experiment.create or run.create, seeds and trials included). */
  LABBOOK_MAX_RUNS_PER_REQUEST: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /** Runs one experiment may hold, deleted ones included until purged. */
  LABBOOK_MAX_RUNS_PER_EXPERIMENT: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
});

export type ServerConfig = z.output<typeof envSchema>;

export function readServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return result.data;
}

/** Read per request (route code runs in the server's process, whose environment start set). */
export function requireLogin(env: NodeJS.ProcessEnv = process.env): boolean {
  return flag.parse(env.LABBOOK_REQUIRE_LOGIN);
}

/** How many runs a call may queue, and an experiment hold: read per call, like requireLogin. */
export function runLimits(env: NodeJS.ProcessEnv = process.env) {
  const { LABBOOK_MAX_RUNS_PER_REQUEST: perRequest, LABBOOK_MAX_RUNS_PER_EXPERIMENT: perExperiment } =
    readServerConfig(env);
  return { perRequest, perExperiment };
}
