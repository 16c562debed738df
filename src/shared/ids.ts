// Row ids as the API takes them: positive and within PostgreSQL's int4, so an out-of-range id
// is a 400 that names the field, never a database error.
import { z } from "zod";

export const MAX_DB_INT = 2 ** 31 - 1;

/** Experiment ids start at 0: MLflow's default experiment "0" is Labbook's experiment 0. */
export const experimentIdSchema = z
  .number({ error: "must be a number" })
  .int({ error: "must be an integer" })
  .min(0, { error: "must be an experiment id (≥ 0)" })
  .max(MAX_DB_INT, { error: `must be at most ${MAX_DB_INT}` });

export const dbId = z
  .number({ error: "must be a number" })
  .int({ error: "must be an integer" })
  .positive({ error: "must be a positive id" })
  .max(MAX_DB_INT, { error: `must be at most ${MAX_DB_INT}` });
