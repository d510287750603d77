/**
 * Errors of recovery runs. Each sets `name`: it is what a Step Functions `Catch` matches.
 */

export { ApprovalClosedError } from '../drivers/errors.ts';

/** A person rejected the approval request: the run ends having changed nothing. */
export class ApprovalRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalRejectedError';
  }
}

/** Nobody answered the approval request in time: the run ends having changed nothing. */
export class ApprovalExpiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalExpiredError';
  }
}

/** A signed approval link is malformed, forged or expired. */
export class ApprovalLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalLinkError';
  }
}

/** A pre-flight check found that the runbook cannot run as declared; nothing was changed. */
export class PreflightFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreflightFailedError';
  }
}

/** A recovery step failed; its message names the step and what happened. */
export class RecoveryStepFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryStepFailedError';
  }
}

/**
 * The run of a rolling step was stopped (StopExecution on AWS, an abort on the local engine) while
 * one of its invocations still ran: the step sent nothing more, and the hosts of the finished
 * batches stay registered.
 */
export class RunStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunStoppedError';
  }
}

/** A recovery step did not finish within its declared timeout. */
export class RecoveryStepTimedOutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryStepTimedOutError';
  }
}

/**
 * Replacing an instance failed after the new one was launched: the old instance is untouched
 * (or kept stopped, named in the message) and the new one's id is reported.
 */
export class ReplaceInstanceFailedError extends Error {
  readonly newInstanceId: string;

  constructor(message: string, newInstanceId: string) {
    super(message);
    this.name = 'ReplaceInstanceFailedError';
    this.newInstanceId = newInstanceId;
  }
}

/** The target did not become healthy after the runbook. */
export class RecoveryUnhealthyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryUnhealthyError';
  }
}

/** The run no longer waits for its approval (it ended, or the approval timed out): nothing was answered. */
export class ApprovalRunEndedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalRunEndedError';
  }
}

/** The answer could not reach the waiting run (throttled, unreachable); the approval is open again. */
export class ApprovalNotDeliveredError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApprovalNotDeliveredError';
  }
}
