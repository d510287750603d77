import { hostSelector } from '../../drivers/index.ts';
import { NoHostsError, RunTooLongError } from '../../errors.ts';
import { runBoundSeconds } from '../bounds.ts';
import type { ResolvedHosts, ResolveHostsInput } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { planDeploy, splitIntoBatches } from '../plan.ts';

/**
 * resolve-hosts: the target's hosts that can take commands now, split into batches.
 *
 * @throws NoHostsError when none is found; RunTooLongError when the batches could outlast the workflow's timeout
 * @example
 * await resolveHostsStep({ target: 'demo', runId: 'r1', batchSize: '100%' }, deps) // { hosts: [local:lab/app], batches: [{ index: 0, … }], batchCount: 1 }
 */
export async function resolveHostsStep(input: ResolveHostsInput, deps: DeployDeps): Promise<ResolvedHosts> {
  const target = deps.findTarget(input.target);
  const { hosts: directory } = deps.driversFor(target);
  const hosts = await directory.resolve(hostSelector(target));
  if (hosts.length === 0) {
    const declared = target.hosts;
    const what =
      declared.type === 'local'
        ? `directory ${declared.directory}`
        : 'instanceIds' in declared
          ? `instances ${declared.instanceIds.join(', ')} in ${declared.region}`
          : `instances tagged ${Object.entries(declared.tags)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')} in ${declared.region}`;
    throw new NoHostsError(
      `no host of target "${target.name}" can take commands: none of the ${what} is running with an online SSM agent`,
    );
  }
  let offset = 0;
  const batches = splitIntoBatches(hosts, input.batchSize).map((batch, index) => {
    const item = { index, hosts: batch, offset, hostCount: hosts.length };
    offset += batch.length;
    return item;
  });
  if (input.runTimeoutSeconds !== undefined) {
    const bound = runBoundSeconds(planDeploy(target, 'HEAD', input.runId), batches.length);
    if (bound > input.runTimeoutSeconds) {
      throw new RunTooLongError(
        `a deploy of target "${target.name}" to ${hosts.length} hosts in ${batches.length} batches may take up to ${bound} s, longer than the workflow's timeout of ${input.runTimeoutSeconds} s: use larger batches, or deploy the stage again so that its timeout covers this fleet`,
      );
    }
  }
  return { hosts, batches, batchCount: batches.length };
}
