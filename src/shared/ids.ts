// Row ids as the API takes them: positive and within PostgreSQL's int4, so an out-of-range id
// is a 400 that names the field, never a database error.
import { z } from "zod";

export const MAX_DB_INT = 2 ** 31 - 1;

export const dbId = z
  .number({ error: "must be a number" })
  .int({ error: "must be an integer" })
  .positive({ error: "must be a positive id" })
  .max(MAX_DB_INT, { error: `must be at most ${MAX_DB_INT}` });
