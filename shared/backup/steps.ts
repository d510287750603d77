/**
 * The logic of each backup Lambda: plan, start a job, long-poll it, record it in the catalogue,
 * prune by retention (adopting orphans first), restore tests, freshness, and the notification.
 * Handlers are thin wrappers around these functions.
 */
import { UnfilledValuesError } from '../config/load.ts';
import {
  type BackupJob,
  dumpBucketRegion,
  restoreTestInstanceClass,
  type Target,
  unfilledValues,
} from '../config/schema.ts';
import { hostSelector } from '../drivers/options.ts';
import { tail } from '../drivers/output.ts';
import type {
  CatalogueEntry,
  CopyRef,
  CopyResource,
  CopyScope,
  Notification,
  TaggedCopy,
} from '../drivers/ports.ts';
import { InvalidInputError } from '../errors.ts';
import { longPollBudget, nextWaitSeconds } from '../polling.ts';
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
  CopyInUseError,
  LastGoodCopyError,
  NotStepopsCopyError,
  RestoreTestFailedError,
  SuspectCopyError,
} from './errors.ts';
import {
  backupLeaseSeconds,
  keepBackupLease,
  LEASE_MARGIN_SECONDS,
  releaseBackupLeases,
  takeBackupLease,
} from './lease.ts';
import { backupTimestamp, snapshotName } from './plan.ts';
import { decidePrune, newestGoodEntry, type RetentionCopy, suspectDate } from './retention.ts';
import {
  type DownloadSource,
  DUMP_RESULT_PATTERN,
  RESTORE_RESULT_PATTERN,
  renderDumpScript,
  renderRestoreTestScript,
  renderUploadScript,
  spoolPath,
  UPLOAD_RESULT_PATTERN,
  type UploadTarget,
  uploadWindowSeconds,
} from './scripts.ts';

/** Tag keys of every copy (the same as the AWS adapters'). */
export const TAG = { target: 'stepops:target', backup: 'stepops:backup', run: 'stepops:run' } as const;
/** A long-poll waits at most this long per invocation. */
export const LONG_POLL_MAX_MS = 50_000;
/** Time a long-poll keeps in hand before the Lambda's own timeout. */
export const LONG_POLL_SAFETY_MS = 10_000;
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 2_000;
/** The longest pause between two status reads that AWS rations (the service's own pace, 2 s, grows to it). */
const PACED_POLL_MAX_MS = 5_000;
/**
 * How long a copy may stay invisible to its service right after its creation (EC2 and RDS are
 * eventually consistent: a Describe may answer `*.NotFound` for a while; AWS advises backing off
 * "up to a few minutes"). Past it, a copy still not found has failed.
 */
export const UNSEEN_GRACE_MS = 10 * 60_000;
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
    ...(job.type === 'rds-snapshot' ? { database: job.dbCluster ?? job.dbInstance } : {}),
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
  const deadline =
    now.getTime() + (job.type === 'dump' ? (job.timeout + 180) * 1000 : COPY_DEADLINE_MS[job.type]);
  // One run at a time per job: taken before anything starts.
  const leaseSeconds = backupLeaseSeconds(deadline, now.getTime());
  await takeBackupLease(drivers.leases, target, job.name, input.runId, leaseSeconds);
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
      return { ...base, deadline, copy };
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
      return { ...base, deadline, copy };
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
      return { ...base, deadline, copy };
    }
    case 'dump': {
      const hosts = await drivers.hosts.resolve(hostSelector(target));
      const host = hosts[0];
      if (!host) throw new InvalidInputError(`no host of ${target.name} to dump from`);
      const key = dumpKey(target.name, job, now, input.runId);
      const expires = job.timeout + 600;
      const region = dumpBucketRegion(target, job);
      const tagging = new URLSearchParams(tags).toString();
      let upload: UploadTarget;
      let spool: string | undefined;
      if (host.kind === 'local') {
        const url = await drivers.objects.uploadUrl(job.bucket, key, tags, expires);
        upload = { kind: 'file', path: url.replace(/^file:\/\//, '') };
      } else if (job.awsCli) {
        upload = { kind: 'aws-cli', bucket: job.bucket, key, tagging, ...(region ? { region } : {}) };
      } else {
        // No URL yet: it is presigned when the dump is done, for the upload command only.
        spool = spoolPath(target.name, job.name, input.runId);
        upload = { kind: 'spool', path: spool };
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
        deadline,
        command: { commandId: handle.commandId, hosts: handle.hosts },
        object: { bucket: job.bucket, key, uri },
        ...(spool ? { upload: { spool, phase: 'dump' as const } } : {}),
      };
    }
  }
}

/**
 * The dump is spooled on the host: presign the PUT now, valid for the upload's attempts only, and
 * send the short upload command. Returns the handle of the upload.
 */
async function startUpload(
  handle: JobHandle,
  dumped: { sha256: string; sizeBytes: number },
  deps: BackupDeps,
): Promise<JobHandle> {
  const target = deps.findTarget(handle.target);
  const job = jobOf(target, handle.backup);
  if (job.type !== 'dump' || !handle.object || !handle.upload || !handle.command) {
    throw new InvalidInputError(`backup "${handle.backup}" of ${target.name} has no dump to upload`);
  }
  const drivers = deps.drivers(target);
  const tags = copyTags(target.name, job.name, handle.runId);
  const window = uploadWindowSeconds(dumped.sizeBytes);
  const url = await drivers.objects.uploadUrl(handle.object.bucket, handle.object.key, tags, window);
  const script = renderUploadScript(job, {
    target: target.name,
    runId: handle.runId,
    uri: handle.object.uri,
    spool: handle.upload.spool,
    ...dumped,
    url,
    tagging: new URLSearchParams(tags).toString(),
  });
  const sent = await drivers.commands.send({
    hosts: handle.command.hosts,
    script,
    timeoutSeconds: window + 120,
    comment: `stepops upload ${target.name} ${job.name}`.slice(0, 100),
  });
  return {
    ...handle,
    deadline: deps.now() + (window + 180) * 1000,
    command: { commandId: sent.commandId, hosts: sent.hosts },
    upload: { spool: handle.upload.spool, phase: 'upload', ...dumped },
  };
}

// ── poll ────────────────────────────────────────────────────────────────────────────────────────

async function readJob(handle: JobHandle, deps: BackupDeps): Promise<Omit<JobStatus, 'polls'>> {
  const target = deps.findTarget(handle.target);
  const drivers = deps.drivers(target);
  if (handle.command) {
    const phase = handle.upload?.phase === 'upload' ? 'upload' : 'dump';
    const [result] = await drivers.commands.status(handle.command);
    if (!result || result.state === 'pending' || result.state === 'running') {
      return { status: 'running', detail: `${phase} ${result?.state ?? 'pending'}` };
    }
    const output = result.outputTail;
    if (handle.upload?.phase === 'upload') {
      const uploaded = UPLOAD_RESULT_PATTERN.exec(output);
      if (
        result.state === 'succeeded' &&
        uploaded &&
        uploaded[1] === handle.upload.sha256 &&
        Number(uploaded[2]) === handle.upload.sizeBytes
      ) {
        return {
          status: 'completed',
          detail: `dump of ${uploaded[2]} bytes uploaded to ${handle.object?.uri ?? ''}`,
          sha256: uploaded[1] as string,
          sizeBytes: Number(uploaded[2]),
        };
      }
      return {
        status: 'failed',
        detail: `the upload ${result.state === 'succeeded' ? 'printed no result line for the dump it was given' : `${result.state}${result.exitCode !== undefined ? ` (exit ${result.exitCode})` : ''}`}: ${tail(output, DETAIL_TAIL)}`,
      };
    }
    const match = DUMP_RESULT_PATTERN.exec(output);
    if (result.state === 'succeeded' && match && handle.upload?.phase === 'dump') {
      const dumped = { sha256: match[1] as string, sizeBytes: Number(match[2]) };
      return {
        status: 'running',
        detail: `dump of ${dumped.sizeBytes} bytes done; uploading`,
        handle: await startUpload(handle, dumped, deps),
      };
    }
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
    if (status.unseen?.length) {
      const age = deps.now() - Date.parse(handle.startedAt);
      if (age > UNSEEN_GRACE_MS) {
        return {
          status: 'failed',
          detail: `${status.unseen.join(', ')} still not found ${Math.round(age / 60_000)} min after it was created: ${status.detail}`,
        };
      }
    }
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
  const target = deps.findTarget(input.handle.target);
  const leaseSeconds = backupLeaseSeconds(input.handle.deadline, deps.now());
  await keepBackupLease(
    deps.drivers(target).leases,
    target,
    input.handle.backup,
    input.handle.runId,
    leaseSeconds,
  );
  const budgetFrom = (elapsed: number) =>
    deps.now() + longPollBudget(elapsed, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  let budgetEnd = budgetFrom(deps.now() - Date.parse(input.handle.startedAt));
  const drivers = deps.drivers(target);
  let handle = input.handle;
  const pace = () => (handle.command ? drivers.commands : drivers.copies).statusPaceMs;
  let pause = pace() ?? POLL_FIRST_MS;
  // The handle the workflow polls next, when this poll moved the job on (a dump's upload command).
  const moved = () => (handle === input.handle ? {} : { handle });
  for (let polls = 1; ; polls += 1) {
    const { handle: next, ...status } = await readJob(handle, deps);
    if (next) {
      // A command just sent (a dump's upload): long-poll it as a new job.
      handle = next;
      pause = pace() ?? POLL_FIRST_MS;
      budgetEnd = budgetFrom(0);
    }
    if (status.status !== 'running') return { ...status, polls, ...moved() };
    if (deps.now() > handle.deadline) {
      return { status: 'failed', detail: `still not finished at its deadline: ${status.detail}`, polls };
    }
    if (deps.now() + pause > budgetEnd) {
      const waitSeconds = nextWaitSeconds(
        deps.now() - Date.parse(handle.startedAt),
        handle.deadline - deps.now(),
      );
      return { ...status, polls, ...moved(), ...(waitSeconds > 0 ? { waitSeconds } : {}) };
    }
    await deps.sleep(pause);
    pause = Math.min(pace() ? PACED_POLL_MAX_MS : POLL_MAX_MS, pause * 2);
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

/** The name both copy services give the copy of a resource carrying no `stepops:run` tag. */
const UNTAGGED_RUN = 'untagged-run:';

async function taggedCopies(
  target: Target,
  job: BackupJob,
  deps: BackupDeps,
  scope: CopyScope,
): Promise<TaggedCopy[]> {
  const drivers = deps.drivers(target);
  if (job.type !== 'dump') return drivers.copies.listTagged(scope);
  const objects = await drivers.objects.list(job.bucket, dumpPrefixKey(target.name, job));
  return objects
    .filter((o) => o.tags[TAG.target] === target.name && o.tags[TAG.backup] === job.name)
    .map((o) => ({
      runId: o.tags[TAG.run] || `${UNTAGGED_RUN}${o.key}`,
      resources: [{ id: o.key }],
      state: 'completed' as const,
      createdAt: o.lastModified,
      sizeBytes: o.sizeBytes,
    }));
}

/** What the listing says of one catalogue row's resources. */
interface RowResources {
  /** Found carrying the job's tags and the row's own run tag. */
  own: CopyResource[];
  /** Found, but carrying another run's tag (or none): never the row's to delete. */
  foreign: { id: string; run: string }[];
}

function rowResources(entry: CatalogueEntry, owner: ReadonlyMap<string, string>): RowResources {
  const own: CopyResource[] = [];
  const foreign: RowResources['foreign'] = [];
  for (const r of entry.resources) {
    const run = owner.get(r.id);
    if (run === entry.runId) own.push(r);
    else if (run !== undefined) foreign.push({ id: r.id, run });
  }
  return { own, foreign };
}

/**
 * Deletes the resources of one catalogue row that carry its own run tag, re-checking the tags of
 * each dump object just before it goes.
 */
async function deleteOwn(
  target: Target,
  job: BackupJob,
  entry: CatalogueEntry,
  resources: CopyResource[],
  deps: BackupDeps,
  scope: CopyScope,
): Promise<void> {
  if (resources.length === 0) return;
  const drivers = deps.drivers(target);
  if (job.type === 'dump') {
    for (const resource of resources) {
      const found = await drivers.objects.head(job.bucket, resource.id);
      if (!found) continue;
      if (
        found.tags[TAG.target] !== target.name ||
        found.tags[TAG.backup] !== job.name ||
        found.tags[TAG.run] !== entry.runId
      ) {
        throw new NotStepopsCopyError(
          `${resource.id} does not carry the stepops tags of ${target.name}/${job.name} run ${entry.runId}: not deleted`,
        );
      }
      await drivers.objects.remove(job.bucket, resource.id);
    }
    return;
  }
  await drivers.copies.remove(
    {
      kind: job.type,
      resources,
      ...(scope.cluster ? { cluster: true } : {}),
      ...(scope.vault ? { vault: scope.vault } : {}),
    },
    scope,
    entry.runId,
  );
}

function withoutDeleting(entry: CatalogueEntry): CatalogueEntry {
  const { deletingFrom: _from, ...rest } = entry;
  return rest;
}

/**
 * Finishes or undoes what a prune that died left `deleting`: a copy whose resources are all gone
 * is recorded deleted; one found whole gets its outcome back (this run's retention decides it
 * again); one half deleted (several resources) is deleted to the end, unless the backup just
 * taken failed (then nothing is deleted). Returns the runs it changed.
 */
async function reconcileDeleting(
  target: Target,
  job: BackupJob,
  entries: CatalogueEntry[],
  owner: ReadonlyMap<string, string>,
  currentRun: string,
  mayDelete: boolean,
  deps: BackupDeps,
  scope: CopyScope,
): Promise<string[]> {
  const drivers = deps.drivers(target);
  const changed: string[] = [];
  const named = new Map<string, number>();
  for (const e of entries.filter((x) => x.outcome !== 'deleted'))
    for (const r of e.resources) named.set(r.id, (named.get(r.id) ?? 0) + 1);
  for (const entry of entries.filter((e) => e.outcome === 'deleting')) {
    const { own, foreign } = rowResources(entry, owner);
    // A row naming another run's copy, or a resource another row names too, or dated in the
    // future, is left as it is and reported as suspect: nothing is deleted or recorded from it.
    if (
      foreign.length > 0 ||
      own.some((r) => (named.get(r.id) ?? 0) > 1) ||
      suspectDate(entry.startedAt, new Date(deps.now()))
    )
      continue;
    const at = new Date(deps.now()).toISOString();
    if (own.length > 0 && own.length === entry.resources.length) {
      await drivers.catalogue.put({ ...withoutDeleting(entry), outcome: entry.deletingFrom ?? 'failed' });
    } else if (own.length === 0 || mayDelete) {
      await deleteOwn(target, job, entry, own, deps, scope);
      await drivers.catalogue.put({
        ...withoutDeleting(entry),
        outcome: 'deleted',
        deletedAt: at,
        error: `pruned: finished by run ${currentRun} after a prune that stopped midway`,
      });
    } else continue;
    changed.push(entry.runId);
  }
  return changed;
}

/** Why each row cannot be trusted: it names another run's copy, shares a resource with another row, or its copy is gone. */
function rowConflicts(
  entries: readonly CatalogueEntry[],
  owner: ReadonlyMap<string, string>,
  currentRun: string,
): Map<string, string> {
  const live = entries.filter((e) => e.outcome !== 'deleted');
  const rowsOf = new Map<string, string[]>();
  for (const e of live) {
    for (const r of e.resources) rowsOf.set(r.id, [...(rowsOf.get(r.id) ?? []), e.runId]);
  }
  const conflicts = new Map<string, string>();
  for (const e of live) {
    const problems: string[] = [];
    const shared = e.resources.filter((r) => (rowsOf.get(r.id)?.length ?? 0) > 1);
    if (shared.length > 0) {
      const others = [...new Set(shared.flatMap((r) => rowsOf.get(r.id) ?? []))].filter((x) => x !== e.runId);
      problems.push(`its resources also appear in the row of ${others.join(', ')}`);
    }
    const { own, foreign } = rowResources(e, owner);
    if (foreign.length > 0) {
      const runs = [...new Set(foreign.map((f) => (f.run.startsWith(UNTAGGED_RUN) ? 'no run tag' : f.run)))];
      problems.push(`it names ${foreign.length} resource(s) of another run (${runs.join(', ')})`);
    }
    if (e.outcome === 'good' && own.length === 0 && foreign.length === 0 && e.runId !== currentRun) {
      problems.push('it is recorded good, but its copy is not found carrying its stepops tags');
    }
    if (problems.length > 0) conflicts.set(e.runId, problems.join('; '));
  }
  return conflicts;
}

/**
 * Prunes one job by its retention:
 *
 * 1. lists the job's copies by their tags, and finishes or undoes the deletions a prune that died
 *    left `deleting`;
 * 2. adopts copies that carry a run tag but that the catalogue lacks (a run that crashed between
 *    taking and recording): a complete snapshot as good but adopted (unverified, never the newest
 *    good copy), an unverified dump or a failed snapshot as failed; a copy without a run tag is not
 *    stepops' and is never adopted;
 * 3. deletes what {@link decidePrune} allows, each copy marked `deleting` before its first delete
 *    and `deleted` after, and only the resources that carry the row's own run tag;
 * 4. fails with {@link SuspectCopyError} when it found copies or rows it cannot trust (kept).
 *
 * Deletes nothing on a dry run or when the backup just taken failed.
 *
 * @example
 * await pruneBackupsStep({ target: 'shop', runId, backup: 'volumes', lastOutcome: 'good', dryRun: false }, deps)
 * @throws SuspectCopyError naming each suspect copy, after the safe deletions
 * @throws LastGoodCopyError if a deletion would remove the newest good or verified copy (never expected)
 */
export async function pruneBackupsStep(input: PruneInput, deps: BackupDeps): Promise<PruneResult> {
  const target = deps.findTarget(input.target);
  const job = jobOf(target, input.backup);
  const drivers = deps.drivers(target);
  const now = new Date(deps.now());
  // Adopting and deleting only while this run holds the job's lease.
  if (!input.dryRun) {
    await keepBackupLease(drivers.leases, target, job.name, input.runId, LEASE_MARGIN_SECONDS);
  }
  let entries = await drivers.catalogue.list(target.name, job.name);
  // AWS Backup's EC2 and EBS points carry no tags it can list: they are known by the catalogue.
  const scope: CopyScope = {
    ...scopeOf(target, job),
    ...(job.type === 'aws-backup' ? { catalogued: entries } : {}),
  };
  const tagged = await taggedCopies(target, job, deps, scope);
  const owner = new Map<string, string>();
  for (const copy of tagged) for (const r of copy.resources) owner.set(r.id, copy.runId);

  if (
    !input.dryRun &&
    (
      await reconcileDeleting(
        target,
        job,
        entries,
        owner,
        input.runId,
        input.lastOutcome !== 'failed',
        deps,
        scope,
      )
    ).length > 0
  ) {
    entries = await drivers.catalogue.list(target.name, job.name);
  }

  const known = new Set(entries.map((e) => e.runId));
  const named = new Set(entries.flatMap((e) => e.resources.map((r) => r.id)));
  const adopted: string[] = [];
  let adopting = false;
  for (const copy of tagged) {
    if (
      known.has(copy.runId) ||
      copy.state === 'pending' ||
      copy.runId === input.runId ||
      copy.runId.startsWith(UNTAGGED_RUN) ||
      copy.resources.some((r) => named.has(r.id))
    )
      continue;
    if (input.dryRun) {
      adopted.push(copy.runId);
      continue;
    }
    adopting = true;
    const complete = job.type !== 'dump' && copy.state === 'completed';
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
      finishedAt: now.toISOString(),
      outcome: complete ? 'good' : 'failed',
      adopted: true,
      ...(complete
        ? {}
        : {
            error:
              job.type === 'dump'
                ? 'found by its tags after a run that did not record it: its checksum was never verified'
                : 'found by its tags in a failed state after a run that did not record it',
          }),
    };
    // Only if still unrecorded: the run that made the copy may have recorded it since the list.
    if (await drivers.catalogue.create(entry)) adopted.push(copy.runId);
  }
  if (adopting) entries = await drivers.catalogue.list(target.name, job.name);

  const conflicts = rowConflicts(entries, owner, input.runId);
  const copies: RetentionCopy[] = entries
    .filter((e) => e.resources.length > 0 || e.outcome === 'good')
    .map((e) => {
      const { own } = rowResources(e, owner);
      const conflict = conflicts.get(e.runId);
      return {
        runId: e.runId,
        startedAt: e.startedAt,
        outcome: e.outcome,
        catalogued: true,
        tagged: own.length > 0 && own.length === e.resources.length,
        verified: e.restoreTest?.ok === true,
        ...(e.adopted ? { adopted: true } : {}),
        ...(conflict ? { conflict } : {}),
      };
    });
  // Copies a dry run would adopt count as adopted; a copy without a run tag is not stepops' and
  // counts for nothing.
  for (const copy of tagged) {
    if (
      !entries.some((e) => e.runId === copy.runId) &&
      copy.state !== 'pending' &&
      !copy.runId.startsWith(UNTAGGED_RUN)
    ) {
      copies.push({
        runId: copy.runId,
        startedAt: copy.createdAt,
        outcome: copy.state === 'completed' ? 'good' : 'failed',
        catalogued: false,
        tagged: true,
        adopted: true,
      });
    }
  }
  const decision = decidePrune(copies, job.retention, {
    now,
    lastRunFailed: input.lastOutcome === 'failed',
  });

  // An independent guard: whatever the decision, the newest good and the newest restore-verified
  // copies that are really there are never deleted.
  const present = (e: CatalogueEntry) =>
    e.resources.length > 0 && rowResources(e, owner).own.length === e.resources.length;
  const protectedRuns = [
    newestGoodEntry(entries, now, present),
    newestGoodEntry(entries, now, (e) => present(e) && e.restoreTest?.ok === true),
  ].flatMap((e) => (e ? [e.runId] : []));
  const deleted: PruneResult['deleted'] = [];
  const inUse: NonNullable<PruneResult['inUse']> = [];
  if (!input.dryRun) {
    for (const verdict of decision.delete) {
      if (protectedRuns.includes(verdict.runId)) {
        throw new LastGoodCopyError(
          `refusing to delete ${verdict.runId} of ${target.name}/${job.name}: it is the newest good (or restore-verified) copy`,
        );
      }
      const entry = entries.find((e) => e.runId === verdict.runId);
      if (!entry || (entry.outcome !== 'good' && entry.outcome !== 'failed')) continue;
      await drivers.catalogue.put({
        ...entry,
        outcome: 'deleting',
        deletingFrom: entry.outcome,
      });
      try {
        await deleteOwn(target, job, entry, rowResources(entry, owner).own, deps, scope);
      } catch (error) {
        // A snapshot behind a registered AMI: kept, its row as it was, and reported; the others are still pruned.
        if (!(error instanceof CopyInUseError)) throw error;
        await drivers.catalogue.put(entry);
        inUse.push({ runId: verdict.runId, detail: error.message });
        continue;
      }
      await drivers.catalogue.put({
        ...withoutDeleting(entry),
        outcome: 'deleted',
        deletedAt: new Date(deps.now()).toISOString(),
        error: `pruned: ${verdict.reason}`,
      });
      deleted.push(verdict);
    }
  }
  if (decision.suspect.length > 0) {
    const done = input.dryRun
      ? `would delete ${decision.delete.map((v) => v.runId).join(', ') || 'nothing'}`
      : `deleted ${deleted.map((v) => v.runId).join(', ') || 'nothing'}`;
    throw new SuspectCopyError(
      `${target.name}/${job.name}: ${done}; kept as suspect, counted for no rule: ${decision.suspect
        .map((v) => `${v.runId} (${v.reason.replace(/: kept, and counted for no rule$/, '')})`)
        .join(' | ')}`,
    );
  }
  return {
    backup: job.name,
    dryRun: input.dryRun,
    deleted,
    wouldDelete: input.dryRun ? decision.delete : [],
    kept: decision.keep.length,
    untouchable: decision.untouchable,
    adopted,
    ...(inUse.length > 0 ? { inUse } : {}),
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
  const now = deps.now();
  const copy = newestGoodEntry(entries, new Date(now), (e) => job.type !== 'dump' || e.sha256 !== undefined);
  if (!copy) throw new RestoreTestFailedError(`${target.name}/${job.name} has no good copy to restore`);
  if (job.type === 'dump' && job.restoreTest) {
    const hosts = await drivers.hosts.resolve(hostSelector(target));
    const host = hosts[0];
    if (!host) throw new InvalidInputError(`no host of ${target.name} to test the restore on`);
    const key = copy.resources[0]?.id ?? '';
    const region = dumpBucketRegion(target, job);
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
      startedAt: new Date(now).toISOString(),
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
    const test = job.restoreTest;
    const db = await drivers.scratch.restore({
      region: job.region,
      snapshotId,
      ...(job.dbCluster ? { cluster: true } : {}),
      ...(test.engine ? { engine: test.engine } : {}),
      instanceId,
      instanceClass: restoreTestInstanceClass(job),
      ...(test.dbSubnetGroup ? { dbSubnetGroup: test.dbSubnetGroup } : {}),
      ...(test.securityGroupIds ? { securityGroupIds: test.securityGroupIds } : {}),
      tags: copyTags(target.name, job.name, input.runId),
    });
    return {
      target: target.name,
      runId: input.runId,
      backup: job.name,
      kind: job.type,
      copyRunId: copy.runId,
      startedAt: new Date(now).toISOString(),
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
    // A restored cluster outlives its instance: delete it once the instance is gone.
    if (status.startsWith('cluster-') && status !== 'cluster-deleting') await drivers.scratch.remove(db);
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
    ['failed', 'incompatible-restore', 'incompatible-parameters', 'storage-full', 'missing'].includes(
      status,
    ) ||
    status.startsWith('cluster-')
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
  let handle = input.handle;
  const started = handle.startedAt ? Date.parse(handle.startedAt) : deps.now();
  const budgetEnd =
    deps.now() +
    longPollBudget(deps.now() - started, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  const drivers = deps.drivers(deps.findTarget(handle.target));
  const pace = handle.command ? drivers.commands.statusPaceMs : undefined;
  let pause = pace ?? POLL_FIRST_MS;
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
    if (deps.now() + pause > budgetEnd) {
      const waitSeconds = nextWaitSeconds(deps.now() - started, handle.deadline - deps.now());
      return { ...status, polls, ...(waitSeconds > 0 ? { waitSeconds } : {}) };
    }
    await deps.sleep(pause);
    pause = Math.min(pace ? PACED_POLL_MAX_MS : POLL_MAX_MS, pause * 2);
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
    // Newest by instant; a copy dated in the future or adopted unverified is not the newest good one.
    const newest = newestGoodEntry(await drivers.catalogue.list(target.name, job.name), new Date(deps.now()));
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
