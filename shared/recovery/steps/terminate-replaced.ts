/** terminate-replaced: terminates the instances a run replaced, once their retention is over. */
import { SNAPSHOT_TAGS } from '../../drivers/aws/snapshot-service.ts';
import type { RecoveryDeps } from '../deps.ts';
import { REPLACED_BY_TAG } from './common.ts';

/**
 * terminate-replaced: once the run has waited the declared retention, terminates the instances this
 * run replaced: those tagged `stepops:replaced-by-run` with its run id that no longer carry
 * `stepops:target` (describe first: a retried call finds them terminated and does nothing more).
 *
 * @example
 * await terminateReplacedStep({ target: 'web', runId: 'run-1' }, deps) // { terminated: ['i-0abc…'] }
 */
export async function terminateReplacedStep(
  input: { target: string; runId: string },
  deps: RecoveryDeps,
): Promise<{ terminated: string[] }> {
  const target = deps.findTarget(input.target);
  if (target.hosts.type !== 'ec2') return { terminated: [] };
  const found = await deps
    .instances(target)
    .find({ type: 'ec2', region: target.hosts.region, tags: { [REPLACED_BY_TAG]: input.runId } });
  const retired = found
    .filter(
      (i) =>
        !(SNAPSHOT_TAGS.target in i.tags) && ['stopped', 'stopping', 'running', 'pending'].includes(i.state),
    )
    .map((i) => i.id);
  if (retired.length > 0) await deps.instances(target).terminate(target.hosts.region, retired);
  return { terminated: retired };
}
