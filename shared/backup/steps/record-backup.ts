import { tail } from '../../drivers/output.ts';
import type { CatalogueEntry } from '../../drivers/ports.ts';
import type { RecordBackupInput, Recorded } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { causeText, DETAIL_TAIL, jobOf, locationOf, TAG } from './common.ts';

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
