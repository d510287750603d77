/**
 * The logic of each backup Lambda: plan, start a job, long-poll it, record it in the catalogue,
 * prune by retention (adopting orphans first), restore tests, freshness, and the notification.
 * Handlers are thin wrappers around these functions.
 */
import { UnfilledValuesError } from '../config/load.ts';
import { type BackupJob, type Target, unfilledValues } from '../config/schema.ts';
import { hostSelector } from '../drivers/options.ts';
import { tail } from '../drivers/output.ts';
import type { CatalogueEntry, CopyRef, CopyScope, Notification, TaggedCopy } from '../drivers/ports.ts';
import { InvalidInputError } from '../errors.ts';
import { hostScriptOptions } from '../shell/script.ts';
import type {
  BackupOutcome,
  BackupRunPlan,
  Freshness,
  FreshnessInput,
  JobHandle,
  JobInput,
  JobStatus,
  NotifyBackupInput,
  PlanBackupInput,
  PollBackupInput,
  PollRestoreInput,
  PruneInput,
  PruneResult,
  RecordBackupInput,
  Recorded,
  RecordRestoreInput,
  RestoreHandle,
  RestoreRecorded,
  RestoreStatus,
} from './contracts.ts';
import { backupRequestSchema } from './contracts.ts';
import type { BackupDeps } from './deps.ts';
import {
  BackupFailedError,
  LastGoodCopyError,
  NotStepopsCopyError,
  RestoreTestFailedError,
} from './errors.ts';
import { backupTimestamp, snapshotName } from './plan.ts';
import { decidePrune, type RetentionCopy } from './retention.ts';
import {
  type DownloadSource,
  DUMP_RESULT_PATTERN,
  RESTORE_RESULT_PATTERN,
  renderDumpScript,
  renderRestoreTestScript,
  type UploadTarget,
} from './scripts.ts';

/** Tag keys of every copy (the same as the AWS adapters'). */
export const TAG = { target: 'stepops:target', backup: 'stepops:backup', run: 'stepops:run' } as const;
/** A long-poll waits at most this long per invocation. */
export const LONG_POLL_MAX_MS = 50_000;
/** Time a long-poll keeps in hand before the Lambda's own timeout. */
export const LONG_POLL_SAFETY_MS = 10_000;
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 2_000;
/** Characters of output kept in the state payload and the catalogue. */
const DETAIL_TAIL = 2_000;

/** How long a copy may take before a run stops waiting for it. */
const COPY_DEADLINE_MS: Record<BackupJob['type'], number> = {
  'ebs-snapshot': 24 * 3600_000,
  'rds-snapshot': 12 * 3600_000,
  'aws-backup': 12 * 3600_000,
  dump: 0,
};

type Remaining = () => number;

function jobOf(target: Target, name: string): BackupJob {
  const job = target.backup?.find((j) => j.name === name);
  if (!job) {
    throw new InvalidInputError(
      `target "${target.name}" has no backup "${name}" (backups: ${(target.backup ?? []).map((j) => j.name).join(', ') || 'none'})`,
    );
  }
  return job;
}

function copyTags(target: string, backup: string, runId: string): Record<string, string> {
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

function dumpPrefixKey(target: string, job: { name: string; prefix: string }): string {
  const prefix = job.prefix.replace(/^\/+|\/+$/g, '');
  return `${prefix ? `${prefix}/` : ''}${target}/${job.name}/`;
}

function scopeOf(target: Target, job: BackupJob): CopyScope {
  const region =
    job.type === 'rds-snapshot' ? job.region : target.hosts.type === 'ec2' ? target.hosts.region : undefined;
  return {
    kind: job.type === 'dump' ? 'ebs-snapshot' : job.type,
    target: target.name,
    backup: job.name,
    ...(region ? { region } : {}),
    ...(job.type === 'aws-backup' ? { vault: job.vault } : {}),
    ...(job.type === 'rds-snapshot' && job.dbCluster ? { cluster: true } : {}),
  };
}

function causeText(cause: unknown): string {
  if (typeof cause !== 'string') return JSON.stringify(cause ?? '');
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

// ── plan ────────────────────────────────────────────────────────────────────────────────────────

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

// ── start ───────────────────────────────────────────────────────────────────────────────────────

/**
 * Starts one job: the snapshot or backup job in AWS (or the directory copy), or the dump command
 * on the first host. Returns the handle the poll and record steps read.
 *
 * @example
 * const handle = await startBackupStep({ target: 'docsai', runId, job: { name: 'database', type: 'dump' } }, deps);
 */
export async function startBackupStep(input: JobInput, deps: BackupDeps): Promise<JobHandle> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.job.name);
  const drivers = deps.drivers(target);
  const now = new Date(deps.now());
  const tags = copyTags(target.name, job.name, input.runId);
  const base = {
    target: target.name,
    runId: input.runId,
    backup: job.name,
    kind: job.type,
    startedAt: now.toISOString(),
  };
  const name = snapshotName(target.name, job.name, now);
  switch (job.type) {
    case 'ebs-snapshot': {
      const hosts = job.volumes ? [] : await drivers.hosts.resolve(hostSelector(target));
      const region = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
      const copy = await drivers.copies.start({
        kind: 'ebs-snapshot',
        hosts,
        ...(job.volumes ? { volumes: job.volumes } : {}),
        ...(region ? { region } : {}),
        tags: { ...tags, Name: name },
        description: `stepops ${target.name} ${job.name} ${input.runId}`.slice(0, 255),
      });
      return { ...base, deadline: now.getTime() + COPY_DEADLINE_MS[job.type], copy };
    }
    case 'rds-snapshot': {
      const copy = await drivers.copies.start({
        kind: 'rds-snapshot',
        region: job.region,
        ...(job.dbInstance ? { dbInstance: job.dbInstance } : {}),
        ...(job.dbCluster ? { dbCluster: job.dbCluster } : {}),
        snapshotId: name,
        tags,
      });
      return { ...base, deadline: now.getTime() + COPY_DEADLINE_MS[job.type], copy };
    }
    case 'aws-backup': {
      let resourceArns = job.resourceArns ?? [];
      const region = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
      if (resourceArns.length === 0) {
        const account = job.iamRoleArn.split(':')[4];
        const hosts = await drivers.hosts.resolve(hostSelector(target));
        resourceArns = hosts.flatMap((h) =>
          h.kind === 'ec2' ? [`arn:aws:ec2:${h.region}:${account}:instance/${h.id}`] : [],
        );
      }
      if (!region || resourceArns.length === 0) {
        throw new InvalidInputError(`backup "${job.name}" of ${target.name} has no resource to back up`);
      }
      const copy = await drivers.copies.start({
        kind: 'aws-backup',
        region,
        vault: job.vault,
        iamRoleArn: job.iamRoleArn,
        resourceArns,
        tags,
        ...(job.retention.days ? { deleteAfterDays: job.retention.days } : {}),
        idempotencyToken: `${target.name}-${job.name}-${input.runId}`,
      });
      return { ...base, deadline: now.getTime() + COPY_DEADLINE_MS[job.type], copy };
    }
    case 'dump': {
      const hosts = await drivers.hosts.resolve(hostSelector(target));
      const host = hosts[0];
      if (!host) throw new InvalidInputError(`no host of ${target.name} to dump from`);
      const key = dumpKey(target.name, job, now, input.runId);
      const expires = job.timeout + 600;
      const region = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
      const tagging = new URLSearchParams(tags).toString();
      let upload: UploadTarget;
      if (host.kind === 'local') {
        const url = await drivers.objects.uploadUrl(job.bucket, key, tags, expires);
        upload = { kind: 'file', path: url.replace(/^file:\/\//, '') };
      } else if (job.awsCli) {
        upload = { kind: 'aws-cli', bucket: job.bucket, key, tagging, ...(region ? { region } : {}) };
      } else {
        upload = {
          kind: 'presigned',
          url: await drivers.objects.uploadUrl(job.bucket, key, tags, expires),
          tagging,
        };
      }
      const uri = drivers.objects.uri(job.bucket, key);
      const script = renderDumpScript(job, {
        target: target.name,
        runId: input.runId,
        uri,
        upload,
        secrets: drivers.secrets,
        ...hostScriptOptions(target.hosts),
      });
      const handle = await drivers.commands.send({
        hosts: [host],
        script,
        timeoutSeconds: job.timeout + 120,
        comment: `stepops backup ${target.name} ${job.name}`.slice(0, 100),
      });
      return {
        ...base,
        deadline: now.getTime() + (job.timeout + 180) * 1000,
        command: { commandId: handle.commandId, hosts: handle.hosts },
        object: { bucket: job.bucket, key, uri },
      };
    }
  }
}

// ── poll ────────────────────────────────────────────────────────────────────────────────────────

async function readJob(handle: JobHandle, deps: BackupDeps): Promise<Omit<JobStatus, 'polls'>> {
  const target = deps.findTarget(handle.target);
  const drivers = deps.drivers(target);
  if (handle.command) {
    const [result] = await drivers.commands.status(handle.command);
    if (!result || result.state === 'pending' || result.state === 'running') {
      return { status: 'running', detail: `dump ${result?.state ?? 'pending'}` };
    }
    const output = result.outputTail;
    const match = DUMP_RESULT_PATTERN.exec(output);
    if (result.state === 'succeeded' && match) {
      return {
        status: 'completed',
        detail: `dump of ${match[2]} bytes uploaded to ${handle.object?.uri ?? ''}`,
        sha256: match[1] as string,
        sizeBytes: Number(match[2]),
      };
    }
    return {
      status: 'failed',
      detail: `the dump ${result.state === 'succeeded' ? 'printed no result line' : `${result.state}${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''}`}: ${tail(output, DETAIL_TAIL)}`,
    };
  }
  if (!handle.copy) return { status: 'failed', detail: 'the job has neither a command nor a copy' };
  try {
    const status = await drivers.copies.status(handle.copy as CopyRef);
    return {
      status: status.state === 'pending' ? 'running' : status.state,
      detail: status.detail,
      resources: status.resources,
      ...(status.sizeBytes !== undefined ? { sizeBytes: status.sizeBytes } : {}),
    };
  } catch (error) {
    if ((error as Error).name === 'BackupThrottledError')
      return { status: 'running', detail: (error as Error).message };
    throw error;
  }
}

/**
 * Long-polls a job for up to 50 s (and 10 s under the Lambda's remaining time); `running` tells the
 * workflow's Choice to call again. A job past its deadline fails.
 *
 * @example
 * const status = await pollBackupStep({ handle }, deps, () => context.getRemainingTimeInMillis());
 */
export async function pollBackupStep(
  input: PollBackupInput,
  deps: BackupDeps,
  remaining: Remaining,
): Promise<JobStatus> {
  const budgetEnd = deps.now() + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  let pause = POLL_FIRST_MS;
  for (let polls = 1; ; polls += 1) {
    const status = await readJob(input.handle, deps);
    if (status.status !== 'running') return { ...status, polls };
    if (deps.now() > input.handle.deadline) {
      return { status: 'failed', detail: `still not finished at its deadline: ${status.detail}`, polls };
    }
    if (deps.now() + pause > budgetEnd) return { ...status, polls };
    await deps.sleep(pause);
    pause = Math.min(POLL_MAX_MS, pause * 2);
  }
}

// ── record ──────────────────────────────────────────────────────────────────────────────────────

function locationOf(handle: JobHandle | undefined, resources: { id: string; region?: string }[]): string {
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

/**
 * Records a job's copy in the catalogue: `good` only when it completed and, for a dump, the object
 * is there with the size the host reported and the stepops tags; `failed` otherwise, with why.
 *
 * @example
 * await recordBackupStep({ target, runId, job, handle, status }, deps) // { outcome: 'good', location: 's3://…', … }
 */
export async function recordBackupStep(input: RecordBackupInput, deps: BackupDeps): Promise<Recorded> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.job.name);
  const drivers = deps.drivers(target);
  const { handle, status, error } = input.attempt;
  const resources =
    status?.resources ?? handle?.copy?.resources ?? (handle?.object ? [{ id: handle.object.key }] : []);
  let outcome: 'good' | 'failed' = 'failed';
  let detail: string;
  if (error) {
    detail = `${error.Error ?? 'Error'}: ${tail(causeText(error.Cause), DETAIL_TAIL)}`;
  } else if (status?.status !== 'completed') {
    detail = status?.detail ?? 'the job did not complete';
  } else if (handle?.object) {
    const found = await drivers.objects.head(handle.object.bucket, handle.object.key);
    if (!found) detail = `the dump reported success but ${handle.object.uri} is not there`;
    else if (found.sizeBytes !== status.sizeBytes)
      detail = `${handle.object.uri} is ${found.sizeBytes} bytes, the host wrote ${status.sizeBytes}`;
    else if (found.tags[TAG.run] !== input.runId || found.tags[TAG.target] !== target.name)
      detail = `${handle.object.uri} does not carry this run's stepops tags`;
    else {
      outcome = 'good';
      detail = status.detail;
    }
  } else {
    outcome = 'good';
    detail = status.detail;
  }
  const entry: CatalogueEntry = {
    target: target.name,
    backup: job.name,
    runId: input.runId,
    kind: job.type,
    location: locationOf(handle, resources),
    resources,
    ...(status?.sizeBytes !== undefined ? { sizeBytes: status.sizeBytes } : {}),
    ...(status?.sha256 ? { sha256: status.sha256 } : {}),
    startedAt: handle?.startedAt ?? new Date(deps.now()).toISOString(),
    finishedAt: new Date(deps.now()).toISOString(),
    outcome,
    ...(outcome === 'failed' ? { error: detail } : {}),
  };
  await drivers.catalogue.put(entry);
  return { backup: job.name, outcome, location: entry.location, detail: tail(detail, DETAIL_TAIL) };
}

// ── prune ───────────────────────────────────────────────────────────────────────────────────────

async function taggedCopies(target: Target, job: BackupJob, deps: BackupDeps): Promise<TaggedCopy[]> {
  const drivers = deps.drivers(target);
  if (job.type !== 'dump') return drivers.copies.listTagged(scopeOf(target, job));
  const objects = await drivers.objects.list(job.bucket, dumpPrefixKey(target.name, job));
  return objects
    .filter((o) => o.tags[TAG.target] === target.name && o.tags[TAG.backup] === job.name && o.tags[TAG.run])
    .map((o) => ({
      runId: o.tags[TAG.run] as string,
      resources: [{ id: o.key }],
      state: 'completed' as const,
      createdAt: o.lastModified,
      sizeBytes: o.sizeBytes,
    }));
}

/**
 * Prunes one job by its retention: first adopts copies found by their tags that the catalogue
 * lacks (a run that crashed between taking and recording: a complete snapshot is recorded good,
 * an unverified dump or a failed snapshot failed), then deletes what {@link decidePrune} allows,
 * marking it deleted. Deletes nothing on a dry run or when the backup just taken failed.
 *
 * @example
 * await pruneBackupsStep({ target: 'shop', runId, backup: 'volumes', lastOutcome: 'good', dryRun: false }, deps)
 * @throws LastGoodCopyError if a deletion would remove the newest good copy (never expected)
 */
export async function pruneBackupsStep(input: PruneInput, deps: BackupDeps): Promise<PruneResult> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.backup);
  const drivers = deps.drivers(target);
  const scope = scopeOf(target, job);
  let entries = await drivers.catalogue.list(target.name, job.name);
  const tagged = await taggedCopies(target, job, deps);
  const known = new Set(entries.map((e) => e.runId));
  const adopted: string[] = [];
  for (const copy of tagged) {
    if (known.has(copy.runId) || copy.state === 'pending' || copy.runId === input.runId) continue;
    adopted.push(copy.runId);
    if (input.dryRun) continue;
    const verified = job.type !== 'dump' && copy.state === 'completed';
    const entry: CatalogueEntry = {
      target: target.name,
      backup: job.name,
      runId: copy.runId,
      kind: job.type,
      location:
        job.type === 'dump'
          ? drivers.objects.uri(job.bucket, copy.resources[0]?.id ?? '')
          : locationOf({ kind: job.type } as JobHandle, copy.resources),
      resources: copy.resources,
      ...(copy.sizeBytes !== undefined ? { sizeBytes: copy.sizeBytes } : {}),
      startedAt: copy.createdAt,
      finishedAt: new Date(deps.now()).toISOString(),
      outcome: verified ? 'good' : 'failed',
      adopted: true,
      ...(verified
        ? {}
        : {
            error:
              job.type === 'dump'
                ? 'found by its tags after a run that did not record it: its checksum was never verified'
                : 'found by its tags in a failed state after a run that did not record it',
          }),
    };
    await drivers.catalogue.put(entry);
  }
  if (adopted.length > 0 && !input.dryRun) entries = await drivers.catalogue.list(target.name, job.name);

  const taggedRuns = new Set(tagged.map((c) => c.runId));
  const copies: RetentionCopy[] = entries
    .filter((e) => e.resources.length > 0 || e.outcome === 'good')
    .map((e) => ({
      runId: e.runId,
      startedAt: e.startedAt,
      outcome: e.outcome,
      catalogued: true,
      tagged: taggedRuns.has(e.runId),
    }));
  for (const copy of tagged) {
    if (!entries.some((e) => e.runId === copy.runId) && copy.state !== 'pending') {
      copies.push({
        runId: copy.runId,
        startedAt: copy.createdAt,
        outcome: copy.state === 'completed' ? 'good' : 'failed',
        catalogued: false,
        tagged: true,
      });
    }
  }
  const decision = decidePrune(copies, job.retention, {
    now: new Date(deps.now()),
    lastRunFailed: input.lastOutcome === 'failed',
  });
  const newestGood =
    entries.find((e) => e.outcome === 'good' && taggedRuns.has(e.runId)) ??
    entries.find((e) => e.outcome === 'good');
  const deleted: PruneResult['deleted'] = [];
  if (!input.dryRun) {
    for (const verdict of decision.delete) {
      if (verdict.runId === newestGood?.runId) {
        throw new LastGoodCopyError(
          `refusing to delete ${verdict.runId} of ${target.name}/${job.name}: it is the newest good copy`,
        );
      }
      const entry = entries.find((e) => e.runId === verdict.runId);
      if (!entry) continue;
      if (job.type === 'dump') {
        for (const resource of entry.resources) {
          const found = await drivers.objects.head(job.bucket, resource.id);
          if (!found) continue;
          if (found.tags[TAG.target] !== target.name || found.tags[TAG.backup] !== job.name) {
            throw new NotStepopsCopyError(
              `${resource.id} does not carry the stepops tags of ${target.name}/${job.name}: not deleted`,
            );
          }
          await drivers.objects.remove(job.bucket, resource.id);
        }
      } else {
        await drivers.copies.remove(
          {
            kind: job.type,
            resources: entry.resources,
            ...(scope.cluster ? { cluster: true } : {}),
            ...(scope.vault ? { vault: scope.vault } : {}),
          },
          scope,
        );
      }
      await drivers.catalogue.put({
        ...entry,
        outcome: 'deleted',
        deletedAt: new Date(deps.now()).toISOString(),
        error: `pruned: ${verdict.reason}`,
      });
      deleted.push(verdict);
    }
  }
  return {
    backup: job.name,
    dryRun: input.dryRun,
    deleted,
    wouldDelete: input.dryRun ? decision.delete : [],
    kept: decision.keep.length,
    untouchable: decision.untouchable,
    adopted,
  };
}

// ── restore tests ───────────────────────────────────────────────────────────────────────────────

/** How far back a retried restore-test start looks for the command it sent. */
const RESTORE_TEST_IDEMPOTENCY_MS = 3_600_000;

/**
 * Starts the restore test of a job's newest good copy: the dump fetched and restored into scratch
 * on the first host, its check run; or the RDS snapshot restored to a temporary instance.
 *
 * @example
 * const handle = await startRestoreTestStep({ target: 'docsai', runId, job: { name: 'database', type: 'dump' } }, deps);
 * @throws RestoreTestFailedError when the job has no good copy to test
 */
export async function startRestoreTestStep(input: JobInput, deps: BackupDeps): Promise<RestoreHandle> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.job.name);
  const drivers = deps.drivers(target);
  const entries = await drivers.catalogue.list(target.name, job.name);
  const copy = entries.find((e) => e.outcome === 'good' && (job.type !== 'dump' || e.sha256));
  if (!copy) throw new RestoreTestFailedError(`${target.name}/${job.name} has no good copy to restore`);
  const now = deps.now();
  if (job.type === 'dump' && job.restoreTest) {
    const hosts = await drivers.hosts.resolve(hostSelector(target));
    const host = hosts[0];
    if (!host) throw new InvalidInputError(`no host of ${target.name} to test the restore on`);
    const key = copy.resources[0]?.id ?? '';
    const region = target.hosts.type === 'ec2' ? target.hosts.region : undefined;
    let download: DownloadSource;
    const url = await drivers.objects.downloadUrl(job.bucket, key, job.restoreTest.timeout + 600);
    if (host.kind === 'local') download = { kind: 'file', path: url.replace(/^file:\/\//, '') };
    else if (job.awsCli)
      download = { kind: 'aws-cli', bucket: job.bucket, key, ...(region ? { region } : {}) };
    else download = { kind: 'presigned', url };
    const script = renderRestoreTestScript(job, {
      target: target.name,
      runId: input.runId,
      copyRunId: copy.runId,
      uri: copy.location,
      sha256: copy.sha256 as string,
      download,
      secrets: drivers.secrets,
      ...hostScriptOptions(target.hosts),
    });
    const handle = await drivers.commands.send({
      hosts: [host],
      script,
      timeoutSeconds: job.restoreTest.timeout * 2 + 120,
      comment: `stepops restore test ${target.name} ${job.name}`.slice(0, 100),
      // A retried invocation finds the restore test the first one started (the script depends on
      // the copy only) instead of restoring it twice.
      idempotency: {
        key: `${input.runId}/restore-test/${job.name}`,
        since: new Date(now - RESTORE_TEST_IDEMPOTENCY_MS).toISOString(),
      },
    });
    return {
      target: target.name,
      runId: input.runId,
      backup: job.name,
      kind: job.type,
      copyRunId: copy.runId,
      deadline: now + (job.restoreTest.timeout * 2 + 180) * 1000,
      command: { commandId: handle.commandId, hosts: handle.hosts },
    };
  }
  if (job.type === 'rds-snapshot' && job.restoreTest) {
    const snapshotId = copy.resources[0]?.id ?? '';
    const instanceId = `stepops-rt-${target.name}-${backupTimestamp(new Date(now)).toLowerCase()}`.slice(
      0,
      63,
    );
    const db = await drivers.scratch.restore({
      region: job.region,
      snapshotId,
      ...(job.dbCluster ? { cluster: true } : {}),
      instanceId,
      instanceClass: job.restoreTest.instanceClass,
      tags: copyTags(target.name, job.name, input.runId),
    });
    return {
      target: target.name,
      runId: input.runId,
      backup: job.name,
      kind: job.type,
      copyRunId: copy.runId,
      deadline: now + job.restoreTest.timeout * 1000,
      instance: db,
      phase: 'restoring',
    };
  }
  throw new InvalidInputError(`backup "${job.name}" of ${target.name} declares no restoreTest`);
}

async function readRestore(handle: RestoreHandle, deps: BackupDeps): Promise<Omit<RestoreStatus, 'polls'>> {
  const target = deps.findTarget(handle.target);
  const drivers = deps.drivers(target);
  if (handle.command) {
    const [result] = await drivers.commands.status(handle.command);
    if (!result || result.state === 'pending' || result.state === 'running') {
      return { status: 'running', detail: `restore test ${result?.state ?? 'pending'}`, handle };
    }
    if (result.state === 'succeeded' && RESTORE_RESULT_PATTERN.test(result.outputTail)) {
      return {
        status: 'passed',
        detail: `restored ${handle.copyRunId} into scratch and the check passed`,
        handle,
      };
    }
    return {
      status: 'failed',
      detail: `restore test ${result.state}${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''}: ${tail(result.outputTail, DETAIL_TAIL)}`,
      handle,
    };
  }
  const db = handle.instance;
  if (!db)
    return { status: 'failed', detail: 'the restore test has neither a command nor an instance', handle };
  const { status, endpoint } = await drivers.scratch.status(db);
  if (handle.phase === 'deleting') {
    return status === 'missing'
      ? {
          status: handle.checked?.startsWith('failed') ? 'failed' : 'passed',
          detail: handle.checked ?? 'deleted',
          handle,
        }
      : { status: 'running', detail: `temporary instance ${db.id} ${status}`, handle };
  }
  if (status === 'available') {
    await drivers.scratch.remove(db);
    return {
      status: 'running',
      detail: `temporary instance ${db.id} available; deleting it`,
      handle: {
        ...handle,
        phase: 'deleting',
        checked: `restored ${handle.copyRunId} to ${db.id} (${endpoint ?? 'no endpoint'}), available; deleted`,
      },
    };
  }
  if (
    ['failed', 'incompatible-restore', 'incompatible-parameters', 'storage-full', 'missing'].includes(status)
  ) {
    if (status !== 'missing') await drivers.scratch.remove(db);
    return {
      status: status === 'missing' ? 'failed' : 'running',
      detail: `temporary instance ${db.id} ${status}`,
      handle: {
        ...handle,
        phase: 'deleting',
        checked: `failed: temporary instance ${db.id} ended ${status}`,
      },
    };
  }
  return { status: 'running', detail: `temporary instance ${db.id} ${status}`, handle };
}

/**
 * Long-polls a restore test (up to 50 s per call).
 *
 * @example
 * const status = await pollRestoreTestStep({ handle }, deps, () => context.getRemainingTimeInMillis());
 */
export async function pollRestoreTestStep(
  input: PollRestoreInput,
  deps: BackupDeps,
  remaining: Remaining,
): Promise<RestoreStatus> {
  const budgetEnd = deps.now() + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  let pause = POLL_FIRST_MS;
  let handle = input.handle;
  for (let polls = 1; ; polls += 1) {
    const status = await readRestore(handle, deps);
    handle = status.handle;
    if (status.status !== 'running') return { ...status, polls };
    if (deps.now() > handle.deadline) {
      if (handle.instance && handle.phase !== 'deleting')
        await deps
          .drivers(deps.findTarget(handle.target))
          .scratch.remove(handle.instance)
          .catch(() => undefined);
      return { status: 'failed', detail: `not finished by its deadline: ${status.detail}`, handle, polls };
    }
    if (deps.now() + pause > budgetEnd) return { ...status, polls };
    await deps.sleep(pause);
    pause = Math.min(POLL_MAX_MS, pause * 2);
  }
}

/**
 * Writes a restore test's result into the catalogue entry of the copy it tested.
 *
 * @example
 * await recordRestoreTestStep({ target, runId, job, handle, status }, deps) // { outcome: 'passed', … }
 */
export async function recordRestoreTestStep(
  input: RecordRestoreInput,
  deps: BackupDeps,
): Promise<RestoreRecorded> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.job.name);
  const drivers = deps.drivers(target);
  const { status, error } = input.attempt;
  const ok = !error && status?.status === 'passed';
  const detail = error
    ? `${error.Error ?? 'Error'}: ${tail(causeText(error.Cause), DETAIL_TAIL)}`
    : (status?.detail ?? 'the restore test did not finish');
  const copyRunId = status?.handle.copyRunId ?? input.attempt.handle?.copyRunId;
  if (copyRunId) {
    const entry = await drivers.catalogue.get(target.name, job.name, copyRunId);
    if (entry) {
      await drivers.catalogue.put({
        ...entry,
        restoreTest: { at: new Date(deps.now()).toISOString(), ok, detail, runId: input.runId },
      });
    }
  }
  return { backup: job.name, outcome: ok ? 'passed' : 'failed', ...(copyRunId ? { copyRunId } : {}), detail };
}

// ── freshness ───────────────────────────────────────────────────────────────────────────────────

/**
 * Finds the backups whose newest good copy is older than their RPO (or that have none).
 *
 * @example
 * (await checkFreshnessStep({ target: 'zmanim', runId }, deps)).stale // [{ backup: 'database', ageHours: 30.5, rpoHours: 24 }]
 */
export async function checkFreshnessStep(input: FreshnessInput, deps: BackupDeps): Promise<Freshness> {
  const target = deps.findTarget(input.target);
  const drivers = deps.drivers(target);
  const jobs = (target.backup ?? []).filter((j) => j.rpoHours !== undefined);
  const stale: Freshness['stale'] = [];
  for (const job of jobs) {
    const rpoHours = job.rpoHours as number;
    const newest = (await drivers.catalogue.list(target.name, job.name)).find((e) => e.outcome === 'good');
    if (!newest) {
      stale.push({ backup: job.name, rpoHours });
      continue;
    }
    const at = newest.finishedAt ?? newest.startedAt;
    const ageHours = Math.round(((deps.now() - Date.parse(newest.startedAt)) / 3600_000) * 10) / 10;
    if (ageHours > rpoHours) stale.push({ backup: job.name, newest: at, ageHours, rpoHours });
  }
  return { stale, checked: jobs.length };
}

// ── notify ──────────────────────────────────────────────────────────────────────────────────────

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
  const outcome = error ? 'failed' : 'succeeded';
  let target: Target | undefined;
  try {
    target = deps.findTarget(targetName);
  } catch {
    target = undefined;
  }
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
