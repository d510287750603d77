import { targetLeaseKey } from '../../lease-keys.ts';
import type { ReleaseLockInput } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';

/**
 * release-lock: releases the lease if this run still holds it (a no-op otherwise).
 *
 * @example
 * await releaseLockStep({ target: 'demo', runId: 'r1' }, deps) // { released: true }
 */
export async function releaseLockStep(
  input: ReleaseLockInput,
  deps: DeployDeps,
): Promise<{ released: true }> {
  const target = deps.findTarget(input.target);
  await deps.driversFor(target).leases.release(targetLeaseKey(target.name), input.runId);
  return { released: true };
}
