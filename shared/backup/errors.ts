/**
 * Errors of the backup workflow. Their `name` is what the workflow's `Retry` and `Catch` match.
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

/** A deletion was refused: the copy is the newest good copy of its job. */
export class LastGoodCopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LastGoodCopyError';
  }
}

/** A backup job failed (the copy is recorded as failed). */
export class BackupFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFailedError';
  }
}

/** A restore test failed: the copy could not be restored or its check did not pass. */
export class RestoreTestFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreTestFailedError';
  }
}

/** A target's newest good backup is older than its RPO. */
export class BackupStaleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupStaleError';
  }
}

/**
 * Retention found copies or catalogue rows it cannot trust (a date in the future, a row naming
 * another run's copy or sharing it with another row, a good entry whose copy is not found). They
 * are kept and the prune says so, after deleting only what was safe.
 */
export class SuspectCopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SuspectCopyError';
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
