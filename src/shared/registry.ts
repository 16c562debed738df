// Inputs of the model registry, shared by the API and the dashboard.
import { z } from "zod";
import { dbId } from "./ids";

export const modelNameSchema = z
  .string({ error: "must be text" })
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/, {
    error: "must be 1–80 letters, digits, _ . - and start with a letter or digit",
  });

export const aliasSchema = z
  .string({ error: "must be text" })
  .trim()
  .toLowerCase()
  .regex(/^[a-z][a-z0-9_-]{0,39}$/, {
    error: "must be 1–40 lowercase letters, digits, _ - and start with a letter",
  });

/** Aliases offered in one click; any other valid alias may be typed. */
export const SUGGESTED_ALIASES = ["production", "champion", "staging"] as const;

const note = z.string().trim().max(2000, { error: "must be at most 2000 characters" }).default("");

export const modelRegisterSchema = z.object({
  runId: dbId,
  name: modelNameSchema,
  description: z.string().trim().max(2000).default(""),
});

export const modelPromoteSchema = z.object({
  name: modelNameSchema,
  alias: aliasSchema,
  version: dbId,
  note,
});

export const modelRollbackSchema = z.object({ name: modelNameSchema, alias: aliasSchema, note });
export const modelByNameSchema = z.object({ name: modelNameSchema });

/** What a client reads of model.get's answer: its versions and aliases. */
export const modelVersionsSchema = z.object({
  versions: z.array(z.object({ id: dbId, version: z.number().int().min(1) })),
  aliases: z.array(z.object({ alias: z.string(), version: z.number().int().min(1) })),
});
