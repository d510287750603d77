/**
 * Retention of pre-deploy snapshots. Pure. The snapshots of one deploy run (its EBS snapshots and
 * its RDS snapshot) are one copy, judged by the backup retention rules (`decidePrune`): the
 * newest `deploys` runs and any younger than `days` are kept, the newest completed run always is,
 * a run still being snapshotted is never touched, and only snapshots whose tags name the target,
 * the run and the pre-deploy reason count or are ever deleted.
 */
import { decidePrune, type RetentionCopy, type RetentionVerdict } from '../backup/retention.ts';
import type { PreDeploySnapshot } from '../drivers/ports.ts';

/** The tag that marks a snapshot taken before a deploy. */
export const PRE_DEPLOY_REASON = { key: 'stepops:reason', value: 'pre-deploy' } as const;

/** What to delete, with why each run is kept or deleted. */
export interface PreDeployPrune {
  delete: PreDeploySnapshot[];
  verdicts: { keep: RetentionVerdict[]; delete: RetentionVerdict[]; untouchable: RetentionVerdict[] };
}

/** Whether a snapshot's own tags say stepops took it before a deploy of `target`. */
export function isPreDeployOf(snapshot: PreDeploySnapshot, target: string): boolean {
  return (
    snapshot.tags['stepops:target'] === target &&
    snapshot.tags[PRE_DEPLOY_REASON.key] === PRE_DEPLOY_REASON.value &&
    Boolean(snapshot.runId) &&
    snapshot.tags['stepops:run'] === snapshot.runId
  );
}

/**
 * Decides which pre-deploy snapshots of a target to delete.
 *
 * @example
 * decidePreDeployPrune(snapshots, 'datizmo', { deploys: 3, days: 7 }, new Date()).delete // older than 7 days, beyond the last 3 deploys
 */
export function decidePreDeployPrune(
  snapshots: readonly PreDeploySnapshot[],
  target: string,
  retention: { deploys: number; days: number },
  now: Date,
): PreDeployPrune {
  // Only what its own tags say stepops took before a deploy of this target counts, or is deleted:
  // a foreign snapshot must not stand in for the newest copy.
  const runs = new Map<string, PreDeploySnapshot[]>();
  for (const snapshot of snapshots) {
    if (!isPreDeployOf(snapshot, target) || !snapshot.runId) continue;
    runs.set(snapshot.runId, [...(runs.get(snapshot.runId) ?? []), snapshot]);
  }
  const copies: RetentionCopy[] = [...runs].map(([runId, members]) => ({
    runId,
    startedAt: members.map((m) => m.createdAt).sort()[0] as string,
    outcome: members.some((m) => m.state === 'pending')
      ? 'running'
      : members.some((m) => m.state === 'failed')
        ? 'failed'
        : 'good',
    // The run that took it is recorded on each snapshot: it is the record retention asks for.
    catalogued: true,
    tagged: true,
  }));
  const decision = decidePrune(
    copies,
    { count: retention.deploys, days: retention.days },
    { now, lastRunFailed: false },
  );
  const doomed = new Set(decision.delete.map((v) => v.runId));
  return {
    delete: snapshots.filter((s) => s.runId && doomed.has(s.runId) && isPreDeployOf(s, target)),
    verdicts: decision,
  };
}
