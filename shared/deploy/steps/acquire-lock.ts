import { TargetLockedError } from '../../errors.ts';
import { targetLeaseKey } from '../../lease-keys.ts';
import type { AcquireLockInput, LockInfo } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';

/**
 * acquire-lock: takes the target's lease for this run, saying the run's execution (health counts
 * the lease only while it runs) and, for a maintenance run, its job and the probes it mutes.
 *
 * @throws TargetLockedError when another run holds it
 * @example
 * await acquireLockStep({ target: 'demo', runId: 'r1', ttlSeconds: 900 }, deps) // { key: 'target:demo', owner: 'r1', … }
 */
export async function acquireLockStep(input: AcquireLockInput, deps: DeployDeps): Promise<LockInfo> {
  const target = deps.findTarget(input.target);
  const key = targetLeaseKey(target.name);
  const { execution, maintenance } = input;
  const result = await deps
    .driversFor(target)
    .leases.acquire(key, input.runId, input.ttlSeconds, { execution, maintenance });
  if (!result.acquired) {
    const until = new Date(result.heldBy.expiresAt * 1000).toISOString();
    throw new TargetLockedError(
      `target "${target.name}" is locked by run ${result.heldBy.owner} until ${until}; wait for it to finish or for the lock to expire`,
    );
  }
  return { key, owner: input.runId, expiresAt: Math.floor(deps.now() / 1000) + input.ttlSeconds };
}
