/** The lease store: DynamoDB when the stack's state table is named, else files on this machine. */
import type { Target } from '../config/schema.ts';
import { dynamoClient } from './aws/dynamo-client.ts';
import { DynamoLeaseStore } from './aws/dynamo-lease-store.ts';
import { defaultRegion } from './aws/regions.ts';
import { FileLeaseStore } from './local/file-lease-store.ts';
import { type DriversOptions, hostsRegion, resolvedNames } from './options.ts';
import type { LeaseStore } from './ports.ts';

/**
 * Chooses the lease store for a target.
 *
 * @example
 * const leases = leaseStoreFor(target, { stateTable: 'stepops-state' });
 * await leases.acquire('deploy#demo', 'run-1', 900);
 */
export function leaseStoreFor(target: Target, options: DriversOptions = {}): LeaseStore {
  const { stateTable } = resolvedNames(options);
  return stateTable
    ? new DynamoLeaseStore(stateTable, { client: dynamoClient(defaultRegion() ?? hostsRegion(target)) })
    : new FileLeaseStore();
}
