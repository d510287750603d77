/**
 * The snapshot service of a target: EBS and RDS snapshots for `ec2` hosts; for `local` hosts the
 * local service, which passes AWS resources (an RDS instance a local target declares) to the AWS one.
 */
import type { Target } from '../config/schema.ts';
import { AwsSnapshotService } from './aws/snapshot-service.ts';
import { LocalSnapshotService } from './local/local-snapshot-service.ts';
import type { DriversOptions } from './options.ts';
import type { SnapshotService } from './ports.ts';

/**
 * Chooses the snapshot service for a target.
 *
 * @example
 * const snapshots = snapshotServiceFor(target);
 */
export function snapshotServiceFor(target: Target, _options: DriversOptions = {}): SnapshotService {
  return target.hosts.type === 'ec2'
    ? new AwsSnapshotService()
    : new LocalSnapshotService(new AwsSnapshotService());
}
