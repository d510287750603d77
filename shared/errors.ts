/**
 * Domain errors. Their `name` is what a Step Functions `Catch` matches in `ErrorEquals`,
 * so each class sets it explicitly (minifiers rename classes).
 */
import { rejectionReason } from './health/failure.ts';

/**
 * Whether an error is the SDK error `type`, or carries its `name` (an error from another copy of
 * the SDK, or a mock that only sets the name).
 *
 * @example
 * if (!isNamedError(error, 'ExecutionAlreadyExists', ExecutionAlreadyExists)) throw error;
 */
export function isNamedError(
  error: unknown,
  name: string,
  type: { new (...args: never[]): unknown },
): boolean {
  return error instanceof type || (error as { name?: unknown } | null)?.name === name;
}

/** Input to a workflow or a command is invalid; nothing was started. */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** Another run holds the target's lease. */
export class TargetLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetLockedError';
  }
}

/** No host of the target could be reached (none found, or none with an online agent). */
export class NoHostsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoHostsError';
  }
}

/** A command failed on more hosts than the batch allows. */
export class CommandFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailedError';
  }
}

/** The hosts did not become healthy before the health gate's deadline. */
export class HealthGateFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HealthGateFailedError';
  }
}

/** A snapshot could not be created. */
export class SnapshotFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFailedError';
  }
}

/** The deploy failed and was rolled back; the hosts are healthy on the previous version. */
export class DeployFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployFailedError';
  }
}

/** The deploy failed and the rollback did not bring the hosts back to health. */
export class RollbackFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RollbackFailedError';
  }
}

/** SSM reported a command status stepops does not know: the run stops rather than wait forever. */
export class UnknownCommandStatusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownCommandStatusError';
  }
}

/** This run no longer holds its target's lease: it stops before touching another host. */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** A run could outlast its state machine's timeout (too many batches for the stage's bound). */
export class RunTooLongError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunTooLongError';
  }
}

/**
 * Characters of an error's message that may enter a workflow's state. A Lambda's uncaught error
 * becomes the `Cause` of its Task (its message and stack trace as JSON); a message as long as its
 * input (a 200 KB ref quoted back) would, with the input, push the state over its 256 KiB limit,
 * and `States.DataLimitExceeded` cannot be caught.
 */
export const ERROR_MESSAGE_BUDGET = 2_000;
/** Stack frames kept with it. */
export const ERROR_TRACE_FRAMES = 5;

/**
 * Cuts an error's message to {@link ERROR_MESSAGE_BUDGET} characters (saying how much was cut) and
 * its stack to {@link ERROR_TRACE_FRAMES} frames, in place; a thrown non-`Error` becomes an `Error`
 * with a readable message.
 *
 * @example
 * boundError(new InvalidInputError('x'.repeat(10_000))).message.length // 2000
 */
export function boundError(error: unknown): Error {
  const bounded =
    error instanceof Error
      ? error
      : // Never `String(error)`: it throws for an object without a prototype.
        new Error(typeof error === 'string' ? error : `thrown without an Error: ${rejectionReason(error)}`);
  const message = bounded.message;
  if (message.length > ERROR_MESSAGE_BUDGET) {
    const note = `… [${message.length - ERROR_MESSAGE_BUDGET} more characters cut]`;
    bounded.message = `${message.slice(0, ERROR_MESSAGE_BUDGET - note.length)}${note}`;
  }
  const frames = (bounded.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  bounded.stack = [`${bounded.name}: ${bounded.message}`, ...frames.slice(0, ERROR_TRACE_FRAMES)].join('\n');
  return bounded;
}

/**
 * A middy middleware that bounds every error a handler throws (see {@link boundError}), so that
 * what enters the state as `Cause` stays within its budget.
 *
 * @example
 * middy().use(boundedErrors()).use(injectLambdaContext(logger)).handler(fn)
 */
export function boundedErrors(): { onError: (request: { error?: unknown }) => Promise<void> } {
  return {
    onError: async (request) => {
      // A handler (or a driver it awaits) that throws `undefined` or `null` still fails its state
      // with a named, readable error.
      request.error = boundError(request.error);
    },
  };
}
