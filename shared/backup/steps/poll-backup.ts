import { tail } from '../../drivers/output.ts';
import type { CopyRef } from '../../drivers/ports.ts';
import { InvalidInputError } from '../../errors.ts';
import { longPollBudget, nextWaitSeconds } from '../../polling.ts';
import type { JobHandle, JobStatus, PollBackupInput } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { backupLeaseSeconds, keepBackupLease } from '../lease.ts';
import {
  DUMP_RESULT_PATTERN,
  renderUploadScript,
  UPLOAD_RESULT_PATTERN,
  uploadWindowSeconds,
} from '../scripts.ts';
import {
  copyTags,
  DETAIL_TAIL,
  jobOf,
  LONG_POLL_MAX_MS,
  LONG_POLL_SAFETY_MS,
  PACED_POLL_MAX_MS,
  POLL_FIRST_MS,
  POLL_MAX_MS,
  type Remaining,
} from './common.ts';

/**
 * How long a copy may stay invisible to its service right after its creation (EC2 and RDS are
 * eventually consistent: a Describe may answer `*.NotFound` for a while; AWS advises backing off
 * "up to a few minutes"). Past it, a copy still not found has failed.
 */
export const UNSEEN_GRACE_MS = 10 * 60_000;

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
