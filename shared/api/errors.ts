/**
 * Errors the deploy API answers with: each carries its HTTP status, a stable code and, for input
 * errors, the field at fault. Nothing is started when one is thrown.
 */

/** A request the API refuses, answered as `{ error: { code, message, field? } }`. */
export class ApiError extends Error {
  /** HTTP status code of the answer. */
  readonly status: number;
  /** Stable machine-readable code, e.g. `InvalidRequest`. */
  readonly code: string;
  /** The request field at fault (`ref`, `target`, `repository.full_name`, …). */
  readonly field?: string;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

/** 400: the body is missing, is not JSON, or does not match the schema. */
export function badRequest(code: string, message: string, field?: string): ApiError {
  return new ApiError(400, code, message, field);
}

/** 401: the signature or the token is missing or wrong (never says which part was wrong). */
export function unauthorized(message = 'missing or invalid credentials'): ApiError {
  return new ApiError(401, 'Unauthorized', message);
}

/** 404: no such target or execution. */
export function notFound(code: string, message: string, field?: string): ApiError {
  return new ApiError(404, code, message, field);
}

/** 409: the target is locked or a deploy of it is already running. */
export function conflict(code: string, message: string): ApiError {
  return new ApiError(409, code, message);
}
