import { tail } from '../../drivers/output.ts';
import type { RecordRestoreInput, RestoreRecorded } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { causeText, DETAIL_TAIL, jobOf } from './common.ts';

/** Reads and conditional writes of a restore test's result before it gives up (each loses only to a change). */
const RECORD_ATTEMPTS = 5;

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
    const restoreTest = { at: new Date(deps.now()).toISOString(), ok, detail, runId: input.runId };
    // Written only over the outcome it read: a prune between the read and the write (the copy now
    // `deleting` or `deleted`) makes the write fail, and the result is written over what is there now.
    let written = false;
    for (let attempt = 0; attempt < RECORD_ATTEMPTS && !written; attempt++) {
      const entry = await drivers.catalogue.get(target.name, job.name, copyRunId);
      written = !entry || (await drivers.catalogue.replaceIf({ ...entry, restoreTest }, entry.outcome));
    }
    if (!written) {
      throw new Error(
        `the restore test of ${target.name}/${job.name} run ${copyRunId} was not recorded: its catalogue entry changed under each of ${RECORD_ATTEMPTS} writes`,
      );
    }
  }
  return { backup: job.name, outcome: ok ? 'passed' : 'failed', ...(copyRunId ? { copyRunId } : {}), detail };
}
