/**
 * Reading the deploy lease of a target, so that the API answers 409 instead of starting a run that
 * would only fail at its lock step. The workflow's lock step remains the authority; this is a check.
 */
import type { Lease } from '../drivers/ports.ts';
import { targetLeaseKey } from '../lease-keys.ts';

/** Finds who holds a target's lease now. */
export interface LeaseReader {
  /** The lease on the target if one is held and not expired. */
  holder(target: string): Promise<Lease | undefined>;
}

/**
 * Reads a target's deploy lease through the lease store the workflow's lock step writes with.
 *
 * @example
 * const leases = deployLeaseReader(new DynamoLeaseStore(Resource.StateTable.name));
 * await leases.holder('zmanim'); // { key: 'target:zmanim', owner: 'zmanim-3c1f…', expiresAt: … }
 */
export function deployLeaseReader(store: { holder(key: string): Promise<Lease | undefined> }): LeaseReader {
  return { holder: (target) => store.holder(targetLeaseKey(target)) };
}
