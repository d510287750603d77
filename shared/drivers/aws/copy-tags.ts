/**
 * The tags of backup copies and the AWS throttling test, apart from the copy service so that the
 * local copy service and the RDS scratch databases use them without loading the EC2, RDS and AWS
 * Backup clients (the copy service is loaded on first use, `shared/drivers/backups.ts`).
 */

/** Tag keys of every backup copy. */
export const BACKUP_TAGS = {
  target: 'stepops:target',
  backup: 'stepops:backup',
  run: 'stepops:run',
} as const;

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SnapshotCreationPerVolumeRateExceeded',
  'LimitExceededException',
]);

/**
 * Whether an AWS error is throttling (retry later) rather than a refusal.
 *
 * @example
 * isThrottling({ name: 'RequestLimitExceeded' }) // true
 */
export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return THROTTLING.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429;
}
