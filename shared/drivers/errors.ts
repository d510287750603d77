/**
 * Errors that the adapters raise, beside the ports they implement: the domains catch them or let a
 * workflow's `Retry`/`Catch` match their `name` (each class sets it; minifiers rename classes). The
 * domain error modules re-export them, so a domain names all its errors from one place.
 */

/** An AWS call of a backup was throttled; the workflow retries the step with backoff. */
export class BackupThrottledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupThrottledError';
  }
}

/** A copy to delete does not carry the stepops tags of its job: it is not ours to delete. */
export class NotStepopsCopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotStepopsCopyError';
  }
}

/**
 * The source of a copy cannot be copied right now, though nothing is wrong with it: an RDS instance
 * that is not `available` (a snapshot or backup window in progress, a modification), or a volume at
 * EC2's limit of concurrent snapshots. The workflow retries the start later.
 */
export class BackupSourceBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupSourceBusyError';
  }
}

/** The account's quota of manual snapshots is reached: no new snapshot until old ones go or it is raised. */
export class SnapshotQuotaExceededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotQuotaExceededError';
  }
}

/** A copy to delete is still in use (an EBS snapshot behind a registered AMI): it is kept, and said so. */
export class CopyInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyInUseError';
  }
}

/** The approval can no longer be answered: answered already, expired, or never asked. */
export class ApprovalClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalClosedError';
  }
}
