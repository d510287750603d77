/**
 * The backup steps, re-exported from `steps/<lambda-name>.ts` (one file per Lambda) for the modules
 * that still import them from here. New code imports the step's own file.
 */
export { checkFreshnessStep } from './steps/check-freshness.ts';
export { dumpKey, LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, TAG } from './steps/common.ts';
export { notifyBackupStep } from './steps/notify-backup.ts';
export { planBackupStep } from './steps/plan-backup.ts';
export { pollBackupStep, UNSEEN_GRACE_MS } from './steps/poll-backup.ts';
export { pollRestoreTestStep } from './steps/poll-restore-test.ts';
export { pruneBackupsStep } from './steps/prune-backups.ts';
export { recordBackupStep } from './steps/record-backup.ts';
export { recordRestoreTestStep } from './steps/record-restore-test.ts';
export { startBackupStep } from './steps/start-backup.ts';
export { startRestoreTestStep } from './steps/start-restore-test.ts';
