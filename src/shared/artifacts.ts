// Artifact names and kinds, shared by the server routes and the worker's client.
import { z } from "zod";

export const ARTIFACT_KINDS = ["model", "checkpoint", "evaluation", "other"] as const;
export const artifactNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,200}$/, { error: "may hold only letters, digits, . _ - (at most 200)" });
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;
/** Headers of an upload: the bytes' sha256 (checked) and the artifact's kind. */
export const ARTIFACT_SHA256_HEADER = "x-content-sha256";
export const ARTIFACT_KIND_HEADER = "x-artifact-kind";
