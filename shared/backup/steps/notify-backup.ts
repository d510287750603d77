import type { Target } from '../../config/schema.ts';
import { tail } from '../../drivers/output.ts';
import type { Notification } from '../../drivers/ports.ts';
import type { BackupOutcome, NotifyBackupInput } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { BackupFailedError, RestoreTestFailedError } from '../errors.ts';
import { releaseBackupLeases } from '../lease.ts';
import { causeText } from './common.ts';

interface JobResult {
  backup?: string;
  outcome?: string;
  detail?: string;
  error?: { Error?: string; Cause?: unknown };
}

function resultDetail(r: JobResult): string {
  if (r.detail) return r.detail;
  if (r.error) return `${r.error.Error ?? 'Error'}: ${causeText(r.error.Cause)}`;
  return 'no detail';
}

/**
 * Ends a run: a failure (bad input, a failed job, prune or restore test, a stale backup) is
 * announced; a success is recorded and announced only when a job of the run asks
 * (`notifyOnSuccess`). Returns how the run ends.
 *
 * @example
 * await notifyBackupStep({ runId, plan, results }, deps) // { outcome: 'succeeded', notified: false, … }
 */
export async function notifyBackupStep(input: NotifyBackupInput, deps: BackupDeps): Promise<BackupOutcome> {
  const run = input.run;
  const plan = run.plan;
  const failures = Object.entries(run.failures ?? {});
  const results = (run.results ?? []) as JobResult[];
  const failedJobs = results.filter((r) => r.outcome === 'failed');
  const task = plan?.task ?? 'backup';
  const targetName = plan?.target ?? (typeof run.target === 'string' ? run.target : 'unknown');
  let summary: string;
  let error: string | undefined;
  let failedState: string | undefined;
  if (failures.length > 0) {
    const [state, failure] = failures[0] as [string, { Error?: string; Cause?: unknown }];
    failedState = state;
    error = failure.Error ?? 'Error';
    summary = `${task} of ${targetName} failed at ${state}: ${error}: ${tail(causeText(failure.Cause), 500)}`;
  } else if (run.freshness && run.freshness.stale.length > 0) {
    error = 'BackupStaleError';
    summary = `backups of ${targetName} are stale: ${run.freshness.stale
      .map((s) =>
        s.newest
          ? `${s.backup} newest good copy ${s.ageHours} h old (RPO ${s.rpoHours} h)`
          : `${s.backup} has no good copy (RPO ${s.rpoHours} h)`,
      )
      .join('; ')}`;
  } else if (failedJobs.length > 0) {
    error = task === 'restore-test' ? RestoreTestFailedError.name : BackupFailedError.name;
    const verb = task === 'restore-test' ? 'restore test' : 'backup';
    summary = `${failedJobs.length} of ${results.length} ${verb}${results.length === 1 ? '' : 's'} of ${targetName} failed: ${failedJobs
      .map((r) => `${r.backup}: ${tail(resultDetail(r), 300)}`)
      .join('; ')}`;
  } else if (task === 'freshness') {
    summary = `every backup of ${targetName} with an RPO is fresh (${run.freshness?.checked ?? 0} checked)`;
  } else {
    summary = `${task === 'restore-test' ? 'restore tests' : plan?.dryRun ? 'dry run' : 'backups'} of ${targetName} passed: ${results
      .map((r) => `${r.backup} ${r.outcome}`)
      .join(', ')}`;
  }
  let target: Target | undefined;
  try {
    target = deps.findTarget(targetName);
  } catch {
    target = undefined;
  }
  if (target && plan && task === 'backup' && !plan.dryRun) {
    const jobs = plan.jobs.map((j) => j.name);
    const note = await releaseBackupLeases(deps.drivers(target).leases, target.name, jobs, input.runId);
    if (note) summary = `${summary}; ${note}`;
  }
  const outcome = error ? 'failed' : 'succeeded';
  const asks = (target?.backup ?? []).some(
    (j) => j.notifyOnSuccess && plan?.jobs.some((p) => p.name === j.name),
  );
  const notified = outcome === 'failed' || (asks && !plan?.dryRun);
  if (notified) {
    const notification: Notification = {
      target: targetName,
      workflow: 'backup',
      outcome,
      runId: input.runId,
      summary,
      ...(error ? { error } : {}),
      ...(failedState ? { failedState } : {}),
      at: new Date(deps.now()).toISOString(),
    };
    const notifier = target ? deps.drivers(target).notifier : deps.fallbackNotifier();
    await notifier.publish(notification);
  }
  return {
    outcome,
    summary,
    ...(error ? { error } : {}),
    ...(failedState ? { failedState } : {}),
    notified,
  };
}
