// MLflow's error answers: {"error_code", "message"} with MLflow's HTTP status for each code
// (mlflow/exceptions.py). Domain errors from the services are mapped here, once.
import { DomainError, type DomainErrorKind } from "@/shared/errors";

export type MlflowErrorCode =
  | "INVALID_PARAMETER_VALUE"
  | "RESOURCE_DOES_NOT_EXIST"
  | "RESOURCE_ALREADY_EXISTS"
  | "INVALID_STATE"
  | "BAD_REQUEST"
  | "ENDPOINT_NOT_FOUND"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "REQUEST_LIMIT_EXCEEDED"
  | "RESOURCE_CONFLICT"
  | "INTERNAL_ERROR";

const STATUS: Record<MlflowErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  // MLflow answers 500 for INVALID_STATE, which its client retries for minutes: a state the
  // caller can fix (logging to a deleted run) is a 400 here.
  INVALID_STATE: 400,
  BAD_REQUEST: 400,
  ENDPOINT_NOT_FOUND: 404,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  REQUEST_LIMIT_EXCEEDED: 429,
  RESOURCE_CONFLICT: 409,
  INTERNAL_ERROR: 500,
};

export class MlflowError extends Error {
  constructor(
    readonly code: MlflowErrorCode,
    message: string,
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}

const FROM_DOMAIN: Record<DomainErrorKind, MlflowErrorCode> = {
  not_found: "RESOURCE_DOES_NOT_EXIST",
  already_exists: "RESOURCE_ALREADY_EXISTS",
  conflict: "INVALID_STATE",
  invalid: "INVALID_PARAMETER_VALUE",
  forbidden: "PERMISSION_DENIED",
  too_large: "INVALID_PARAMETER_VALUE",
};

/** The MLflow error for `error`, or null for an unexpected one (a masked 500). */
export function toMlflowError(error: unknown): MlflowError | null {
  if (error instanceof MlflowError) return error;
  if (error instanceof DomainError) return new MlflowError(FROM_DOMAIN[error.kind], error.message);
  return null;
}
