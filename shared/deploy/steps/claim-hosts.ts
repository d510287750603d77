import type { ClaimedHosts, ClaimHostsInput } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { acquireLockStep } from './acquire-lock.ts';
import { resolveHostsStep } from './resolve-hosts.ts';

/**
 * claim-hosts: the deploy's first two steps in one call, as they always run together: takes the
 * target's lease ({@link acquireLockStep}), then finds the hosts and splits them into batches
 * ({@link resolveHostsStep}). A resolve that fails leaves the lease taken: the workflow's Catch
 * leads to its closing step, which releases the lease of every run that planned.
 *
 * @throws TargetLockedError when another run holds the lease (nothing was resolved); NoHostsError,
 *   RunTooLongError or an AWS error from resolving, with the lease held by this run
 * @example
 * await claimHostsStep({ target: 'demo', runId: 'r1', ttlSeconds: 900, execution: arn, batchSize: '100%' }, deps)
 * // { hosts: [local:lab/app], batches: [{ index: 0, … }], batchCount: 1, lock: { key: 'target:demo', owner: 'r1', … } }
 */
export async function claimHostsStep(input: ClaimHostsInput, deps: DeployDeps): Promise<ClaimedHosts> {
  const { target, runId, ttlSeconds, execution, batchSize, runTimeoutSeconds } = input;
  const lock = await acquireLockStep({ target, runId, ttlSeconds, execution }, deps);
  const resolved = await resolveHostsStep(
    { target, runId, batchSize, ...(runTimeoutSeconds !== undefined ? { runTimeoutSeconds } : {}) },
    deps,
  );
  return { ...resolved, lock };
}
