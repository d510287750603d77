/**
 * The backup drivers of a target, chosen by what it declares: `ec2` hosts → EC2, RDS, AWS Backup
 * and S3; `local` hosts → directory copies and the local object store (RDS and AWS Backup jobs a
 * local target declares still go to AWS). The catalogue is in `catalogue.ts`.
 */
import type { DumpBackupJob, Target } from '../config/schema.ts';
import { dumpBucketRegion } from '../config/target-values.ts';
import { RdsScratchDatabases } from './aws/rds-scratch-databases.ts';
import { S3ObjectStore } from './aws/s3-object-store.ts';
import { LazyCopyService } from './lazy.ts';
import { LocalCopyService } from './local/local-copy-service.ts';
import { LocalObjectStore } from './local/local-object-store.ts';
import {
  AWS_COPY_STATUS_PACE_MS,
  type CopyService,
  type ObjectStore,
  type ScratchDatabases,
} from './ports.ts';

export { backupCatalogueFor } from './catalogue.ts';

/**
 * Snapshots of a target's hosts and databases.
 *
 * @example
 * const copies = copyServiceFor(findTarget('zmanim'));
 */
export function copyServiceFor(target: Target): CopyService {
  return target.hosts.type === 'ec2' ? awsCopyService() : new LocalCopyService({ aws: awsCopyService() });
}

/**
 * The AWS copy service, loaded when a copy is first started, read, listed or removed (dynamic
 * import): a dump backup makes no copy, so its functions do not evaluate the EC2, RDS and AWS
 * Backup clients at cold start.
 */
function awsCopyService(): CopyService {
  return new LazyCopyService(async () => {
    const { AwsCopyService } = await import('./aws/aws-copy-service.ts');
    return new AwsCopyService();
  }, AWS_COPY_STATUS_PACE_MS);
}

/**
 * Where a target's dumps go: S3, each bucket in its own region (`dumpBucketRegion`), or the local
 * object store.
 *
 * @example
 * const objects = objectStoreFor(findTarget('docsai'));
 */
export function objectStoreFor(target: Target): ObjectStore {
  if (target.hosts.type !== 'ec2') return new LocalObjectStore();
  const region = target.hosts.region;
  const dumps = (target.backup ?? []).filter((j): j is DumpBackupJob => j.type === 'dump');
  const bucketRegions = Object.fromEntries(
    dumps.map((job) => [job.bucket, dumpBucketRegion(target, job) ?? region]),
  );
  return new S3ObjectStore({ region, bucketRegions });
}

/**
 * Temporary databases for RDS restore tests.
 *
 * @example
 * const scratch = scratchDatabasesFor(findTarget('datizmo'));
 */
export function scratchDatabasesFor(_target: Target): ScratchDatabases {
  return new RdsScratchDatabases();
}
