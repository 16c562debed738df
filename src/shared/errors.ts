// Domain errors: what services throw. Each protocol (tRPC, plain HTTP routes, the MLflow API)
// maps them to its own answer in one place, so a service never speaks a protocol.
export type DomainErrorKind =
  | "not_found"
  | "already_exists"
  | "conflict"
  | "invalid"
  | "forbidden"
  | "too_large";

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super("not_found", message);
  }
}

/** A unique name or key that is taken (a subtype of conflict that clients tell apart). */
export class AlreadyExistsError extends DomainError {
  constructor(message: string) {
    super("already_exists", message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super("conflict", message);
  }
}

export class InvalidInputError extends DomainError {
  constructor(message: string) {
    super("invalid", message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super("forbidden", message);
  }
}

export class TooLargeError extends DomainError {
  constructor(message: string) {
    super("too_large", message);
  }
}

/** HTTP status of each kind, for plain routes. */
export const HTTP_STATUS: Record<DomainErrorKind, number> = {
  not_found: 404,
  already_exists: 409,
  conflict: 409,
  invalid: 400,
  forbidden: 403,
  too_large: 413,
};
