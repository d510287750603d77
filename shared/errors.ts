/**
 * Domain errors. Their `name` is what a Step Functions `Catch` matches in `ErrorEquals`,
 * so each class sets it explicitly (minifiers rename classes).
 */

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
