/**
 * Errors of the backup workflow. Their `name` is what the workflow's `Retry` and `Catch` match.
 */

export {
  BackupSourceBusyError,
  BackupThrottledError,
  CopyInUseError,
  NotStepopsCopyError,
  SnapshotQuotaExceededError,
} from '../drivers/errors.ts';

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
