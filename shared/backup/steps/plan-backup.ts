/**
 * plan-backup: validates a backup run's input and lists its jobs.
 */
import { UnfilledValuesError, unfilledValues } from '../../config/target-values.ts';
import { InvalidInputError } from '../../errors.ts';
import type { BackupRunPlan, PlanBackupInput } from '../contracts.ts';
import { backupRequestSchema } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { jobOf } from './common.ts';

/**
 * Validates the execution input and lists the jobs of the run. Bad input throws before anything runs.
 *
 * @example
 * planBackupStep({ input: { target: 'shop' }, runId: 'r-1' }, deps).jobs // [{ name: 'mongodb', type: 'dump' }, …]
 * @throws InvalidInputError (or UnknownTargetError) naming the field and the problem
 */
export function planBackupStep(input: PlanBackupInput, deps: Pick<BackupDeps, 'findTarget'>): BackupRunPlan {
  const parsed = backupRequestSchema.safeParse(input.input);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'input'}: ${i.message}`)
      .join('; ');
    throw new InvalidInputError(`invalid backup request: ${problems}`);
  }
  const request = parsed.data;
  const target = deps.findTarget(request.target);
  const task = request.task ?? 'backup';
  const declared = target.backup ?? [];
  if (declared.length === 0) throw new InvalidInputError(`target "${target.name}" declares no backups`);
  let jobs = request.backup === undefined ? declared : [jobOf(target, request.backup)];
  if (task === 'restore-test') {
    const testable = jobs.filter((j) => (j.type === 'dump' || j.type === 'rds-snapshot') && j.restoreTest);
    if (testable.length === 0) {
      throw new InvalidInputError(
        request.backup
          ? `backup "${request.backup}" of target "${target.name}" declares no restoreTest`
          : `no backup of target "${target.name}" declares a restoreTest`,
      );
    }
    jobs = testable;
  }
  // A marker never reaches AWS (a dump to the bucket "<unfilled: …>"): refused before anything runs.
  const used = unfilledValues(target).filter(
    (v) =>
      v.path.startsWith('hosts') || jobs.some((j) => v.path.startsWith(`backup[${declared.indexOf(j)}].`)),
  );
  if (used.length > 0) throw new UnfilledValuesError(target.name, used, 'backs up');
  return {
    target: target.name,
    runId: input.runId,
    task,
    dryRun: request.dryRun ?? false,
    parallel: target.backupOptions?.parallel ?? false,
    maxConcurrency: target.backupOptions?.parallel && task === 'backup' ? 0 : 1,
    ...(request.reason ? { reason: request.reason } : {}),
    jobs: jobs.map((j) => ({ name: j.name, type: j.type })),
  };
}
