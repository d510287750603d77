import { tail } from '../../drivers/output.ts';
import { longPollBudget, nextWaitSeconds } from '../../polling.ts';
import type { PollRestoreInput, RestoreHandle, RestoreStatus } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { RESTORE_RESULT_PATTERN } from '../scripts.ts';
import {
  DETAIL_TAIL,
  LONG_POLL_MAX_MS,
  LONG_POLL_SAFETY_MS,
  PACED_POLL_MAX_MS,
  POLL_FIRST_MS,
  POLL_MAX_MS,
  type Remaining,
} from './common.ts';

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
