/**
 * The deploy steps, re-exported from `steps/<lambda-name>.ts` (one file per Lambda) for the modules
 * that still import them from here. New code imports the step's own file.
 */

export { targetLeaseKey } from '../lease-keys.ts';
export { acquireLockStep } from './steps/acquire-lock.ts';
export { checkHealthStep } from './steps/check-health.ts';
export { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, type RemainingTime } from './steps/common.ts';
export { createSnapshotsStep } from './steps/create-snapshots.ts';
export { describeBatchFailureStep } from './steps/describe-batch-failure.ts';
export { notifyStep } from './steps/notify.ts';
export { leaseTtlSeconds, planDeployStep } from './steps/plan-deploy.ts';
export { planRollbackStep } from './steps/plan-rollback.ts';
export {
  COMMAND_POLL_FIRST_MS,
  COMMAND_POLL_MAX_MS,
  PACED_COMMAND_POLL_MAX_MS,
  pollCommandStep,
} from './steps/poll-command.ts';
export { releaseLockStep } from './steps/release-lock.ts';
export { resolveHostsStep } from './steps/resolve-hosts.ts';
export { commandKey, sendCommandStep } from './steps/send-command.ts';
