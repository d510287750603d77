/**
 * What the backup steps share: the tag keys of a copy, the long-poll bounds, the job lookup and the
 * names a copy gets (tags, dump keys, catalogue locations).
 */
import { createHash } from 'node:crypto';
import type { BackupJob, Target } from '../../config/schema.ts';
import { InvalidInputError } from '../../errors.ts';
import type { JobHandle, JobInput } from '../contracts.ts';
import { backupTimestamp } from '../plan.ts';

/** Tag keys of every copy (the same as the AWS adapters'). */
export const TAG = { target: 'stepops:target', backup: 'stepops:backup', run: 'stepops:run' } as const;
/** A long-poll waits at most this long per invocation. */
export const LONG_POLL_MAX_MS = 50_000;
/** Time a long-poll keeps in hand before the Lambda's own timeout. */
export const LONG_POLL_SAFETY_MS = 10_000;
/** First and longest pause between two status reads of a service that does not ration them. */
export const POLL_FIRST_MS = 250;
export const POLL_MAX_MS = 2_000;
/** The longest pause between two status reads that AWS rations (the service's own pace, 2 s, grows to it). */
export const PACED_POLL_MAX_MS = 5_000;
/** Characters of output kept in the state payload and the catalogue. */
export const DETAIL_TAIL = 2_000;

/** Remaining time of the invocation, in milliseconds (`context.getRemainingTimeInMillis`). */
export type Remaining = () => number;

/**
 * The backup job of a target by its name.
 *
 * @throws InvalidInputError naming the target's backups when it has none of that name
 */
export function jobOf(target: Target, name: string): BackupJob {
  const job = target.backup?.find((j) => j.name === name);
  if (!job) {
    throw new InvalidInputError(
      `target "${target.name}" has no backup "${name}" (backups: ${(target.backup ?? []).map((j) => j.name).join(', ') || 'none'})`,
    );
  }
  return job;
}

/** The stepops tags of a copy: target, backup and run. */
export function copyTags(target: string, backup: string, runId: string): Record<string, string> {
  return { [TAG.target]: target, [TAG.backup]: backup, [TAG.run]: runId };
}

/**
 * The object key of a dump: `<prefix>/<target>/<backup>/<UTC timestamp>-<run>`.
 *
 * @example
 * dumpKey('docsai', { name: 'database', prefix: 'dumps' }, new Date('2026-03-01T02:00:00Z'), 'r-1')
 * // 'dumps/docsai/database/20260301T020000Z-r-1'
 */
export function dumpKey(
  target: string,
  job: { name: string; prefix: string },
  at: Date,
  runId: string,
): string {
  const prefix = job.prefix.replace(/^\/+|\/+$/g, '');
  const run = runId.replace(/[^A-Za-z0-9._-]/g, '-').slice(-36);
  return `${prefix ? `${prefix}/` : ''}${target}/${job.name}/${backupTimestamp(at)}-${run}`;
}

/**
 * The time a step names what it makes after: when the run started (`runStartedAt`, from
 * `$$.Execution.StartTime`), the same for every attempt of the step; the clock only when the input
 * does not say (a step called outside the workflow).
 *
 * @example
 * runTime({ …input, runStartedAt: '2026-03-01T02:00:00.123Z' }, Date.now()) // 2026-03-01T02:00:00.123Z
 */
export function runTime(input: Pick<JobInput, 'runStartedAt'>, now: number): Date {
  const at = input.runStartedAt ? Date.parse(input.runStartedAt) : Number.NaN;
  return new Date(Number.isFinite(at) ? at : now);
}

/** Longest RDS DB instance (and cluster) identifier. */
const RDS_ID_MAX = 63;

/**
 * The identifier of a restore test's temporary DB instance (or cluster): `stepops-rt-<target>-
 * <backup>-<run start>-<6 hex of the run>`, a valid RDS identifier (letters, digits and single
 * hyphens, a letter first, at most 63 characters, shortening the names, never the run's part). Only
 * this run's test of this backup gets it, and every attempt of its start step gets the same one:
 * a retry finds the instance the first attempt made instead of making another.
 *
 * @example
 * restoreTestInstanceId('datizmo', 'database', 'run-7', new Date('2026-03-01T02:00:00Z'))
 * // 'stepops-rt-datizmo-database-20260301t020000z-' + 6 hex
 */
export function restoreTestInstanceId(target: string, backup: string, runId: string, at: Date): string {
  const run = createHash('sha256').update(`${target}/${backup}/${runId}`).digest('hex').slice(0, 6);
  const suffix = `-${backupTimestamp(at).toLowerCase()}-${run}`;
  const names = `stepops-rt-${target}-${backup}`
    .toLowerCase()
    .replaceAll(/[^a-z0-9-]/g, '-')
    .replaceAll(/-{2,}/g, '-')
    .slice(0, RDS_ID_MAX - suffix.length)
    .replace(/-+$/, '');
  return `${names}${suffix}`;
}

/** The key prefix under which a job's dumps are written (see {@link dumpKey}). */
export function dumpPrefixKey(target: string, job: { name: string; prefix: string }): string {
  const prefix = job.prefix.replace(/^\/+|\/+$/g, '');
  return `${prefix ? `${prefix}/` : ''}${target}/${job.name}/`;
}

/** The message of a Step Functions error cause (a Lambda's JSON `errorMessage`, or the cause as it is). */
export function causeText(cause: unknown): string {
  if (typeof cause !== 'string') return JSON.stringify(cause ?? '');
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

/** Where a job's copy is, as the catalogue records it: the dump's URI, or the service and resource ids. */
export function locationOf(
  handle: JobHandle | undefined,
  resources: { id: string; region?: string }[],
): string {
  if (!handle) return '';
  if (handle.object) return handle.object.uri;
  const region = resources[0]?.region ?? '';
  switch (handle.kind) {
    case 'ebs-snapshot':
      return region
        ? `ec2:${region}:${resources.map((r) => r.id).join(',')}`
        : `dir://${resources.map((r) => r.id).join(',')}`;
    case 'rds-snapshot':
      return `rds:${region}:${resources.map((r) => r.id).join(',')}`;
    default:
      return resources.map((r) => r.id).join(',');
  }
}
