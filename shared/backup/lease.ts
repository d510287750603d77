/**
 * The backup lease: one run at a time takes, records and prunes the copies of a backup job. Two
 * runs of one job at once would each adopt the other's copy before it is recorded, or prune from a
 * catalogue the other is changing. The lease is per job (`backup:<target>#<job>`), not per target:
 * jobs of one target run on their own schedules and touch separate catalogue entries and copies,
 * and a backup holds no lease a deploy or recovery waits for.
 *
 * start-backup takes it before starting anything, each poll renews it (a dead run frees the job
 * within {@link LEASE_RENEW_MS} plus the margin), prune-backups checks it is still this run's
 * before adopting or deleting, and notify-backup releases it on every path of the run.
 */
import type { Target } from '../config/schema.ts';
import type { LeaseStore } from '../drivers/ports.ts';
import { LeaseLostError, TargetLockedError } from '../errors.ts';

/** Lease time beyond the job's next expected step: the record and prune steps with their retries. */
export const LEASE_MARGIN_SECONDS = 1_800;
/** A lease is renewed for at most this long ahead, so that a run that died frees its job soon. */
export const LEASE_RENEW_MS = 3_600_000;

/** What every backup lease key starts with (the stack allows the backup functions only these keys). */
export const BACKUP_LEASE_PREFIX = 'backup:';

/**
 * The lease key of a backup job.
 *
 * @example
 * backupLeaseKey('shop', 'mongodb') // 'backup:shop#mongodb'
 */
export function backupLeaseKey(target: string, backup: string): string {
  return `${BACKUP_LEASE_PREFIX}${target}#${backup}`;
}

/**
 * Seconds to take the lease for at `now`: until the job's deadline, or {@link LEASE_RENEW_MS}
 * ahead if that is sooner (the next poll renews it), plus {@link LEASE_MARGIN_SECONDS}.
 *
 * @example
 * backupLeaseSeconds(Date.parse('2026-01-01T03:00:00Z'), Date.parse('2026-01-01T02:00:00Z')) // 5400
 */
export function backupLeaseSeconds(deadline: number, now: number): number {
  const until = Math.min(deadline, now + LEASE_RENEW_MS);
  return Math.max(0, Math.ceil((until - now) / 1000)) + LEASE_MARGIN_SECONDS;
}

/**
 * Takes the job's lease for a run that is about to start its copy (or renews it for the same run).
 *
 * @throws TargetLockedError when another run holds it, naming that run and until when
 * @example
 * await takeBackupLease(leases, target, 'mongodb', runId, backupLeaseSeconds(deadline, now));
 */
export async function takeBackupLease(
  leases: LeaseStore,
  target: Target,
  backup: string,
  runId: string,
  ttlSeconds: number,
): Promise<void> {
  const result = await leases.acquire(backupLeaseKey(target.name, backup), runId, ttlSeconds);
  if (!result.acquired) {
    const until = new Date(result.heldBy.expiresAt * 1000).toISOString();
    throw new TargetLockedError(
      `backup "${backup}" of ${target.name} is being taken by run ${result.heldBy.owner} (its lease runs until ${until}); this run starts nothing for it`,
    );
  }
}

/**
 * Renews the job's lease for a run in progress.
 *
 * @throws LeaseLostError when another run took it (this run's lease had expired)
 * @example
 * await keepBackupLease(leases, target, 'volumes', runId, backupLeaseSeconds(handle.deadline, now));
 */
export async function keepBackupLease(
  leases: LeaseStore,
  target: Target,
  backup: string,
  runId: string,
  ttlSeconds: number,
): Promise<void> {
  const result = await leases.acquire(backupLeaseKey(target.name, backup), runId, ttlSeconds);
  if (!result.acquired) {
    throw new LeaseLostError(
      `run ${runId} no longer holds the lease of backup "${backup}" of ${target.name}: run ${result.heldBy.owner} took it; this run adopts and deletes nothing`,
    );
  }
}

/**
 * Releases the run's leases of the given jobs (a lease another run holds is left alone). Never
 * throws: a failure is returned as a sentence for the run's summary, and the lease expires on its own.
 *
 * @example
 * const note = await releaseBackupLeases(leases, 'shop', ['mongodb', 'volumes'], runId); // undefined when all released
 */
export async function releaseBackupLeases(
  leases: LeaseStore,
  target: string,
  backups: readonly string[],
  runId: string,
): Promise<string | undefined> {
  const failed: string[] = [];
  for (const backup of backups) {
    try {
      await leases.release(backupLeaseKey(target, backup), runId);
    } catch (error) {
      failed.push(`${backup} (${(error as Error).message})`);
    }
  }
  return failed.length > 0
    ? `releasing the backup lease of ${failed.join(', ')} failed: it expires on its own`
    : undefined;
}
