/**
 * Temporary RDS instances for restore tests: `RestoreDBInstanceFromDBSnapshot` (tagged
 * `stepops:restore-test`), read with `DescribeDBInstances`, removed with `DeleteDBInstance`
 * (`SkipFinalSnapshot`, `DeleteAutomatedBackups`), only when the instance carries the tag.
 *
 * IAM: `rds:RestoreDBInstanceFromDBSnapshot`, `rds:AddTagsToResource` (on `db:stepops-rt-*`),
 * `rds:DescribeDBInstances`, `rds:DeleteDBInstance` (on instances tagged `stepops:restore-test`).
 */
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { BackupThrottledError, NotStepopsCopyError } from '../../backup/errors.ts';
import type { ScratchDatabase, ScratchDatabases } from '../ports.ts';
import { isThrottling } from './aws-copy-service.ts';
import { rdsClient } from './clients.ts';

/** The tag every restore-test instance carries. */
export const RESTORE_TEST_TAG = 'stepops:restore-test';

function isNotFound(error: unknown): boolean {
  return (error as { name?: string }).name === 'DBInstanceNotFoundFault';
}

/**
 * @example
 * const db = await new RdsScratchDatabases().restore({ region, snapshotId, instanceId: 'stepops-rt-datizmo-1', instanceClass: 'db.t4g.micro', tags });
 */
export class RdsScratchDatabases implements ScratchDatabases {
  readonly #rds: (region: string) => RDSClient;

  constructor(options: { rds?: (region: string) => RDSClient } = {}) {
    this.#rds = options.rds ?? rdsClient;
  }

  async restore(request: Parameters<ScratchDatabases['restore']>[0]): Promise<ScratchDatabase> {
    try {
      await this.#rds(request.region).send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: request.instanceId,
          DBSnapshotIdentifier: request.snapshotId,
          DBInstanceClass: request.instanceClass,
          MultiAZ: false,
          PubliclyAccessible: false,
          DeletionProtection: false,
          Tags: Object.entries({ ...request.tags, [RESTORE_TEST_TAG]: 'true' }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        }),
      );
    } catch (error) {
      if (isThrottling(error))
        throw new BackupThrottledError(`rds:RestoreDBInstanceFromDBSnapshot was throttled`);
      throw error;
    }
    return { id: request.instanceId, region: request.region };
  }

  async status(db: ScratchDatabase): Promise<{ status: string; endpoint?: string }> {
    try {
      const output = await this.#rds(db.region).send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: db.id }),
      );
      const instance = output.DBInstances?.[0];
      return {
        status: instance?.DBInstanceStatus ?? 'missing',
        ...(instance?.Endpoint?.Address
          ? { endpoint: `${instance.Endpoint.Address}:${instance.Endpoint.Port ?? ''}` }
          : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return { status: 'missing' };
      if (isThrottling(error)) return { status: 'throttled' };
      throw error;
    }
  }

  async remove(db: ScratchDatabase): Promise<void> {
    const rds = this.#rds(db.region);
    const output = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: db.id }));
    const tags = output.DBInstances?.[0]?.TagList ?? [];
    if (!tags.some((t) => t.Key === RESTORE_TEST_TAG && t.Value === 'true')) {
      throw new NotStepopsCopyError(`${db.id} is not a stepops restore-test instance: not deleted`);
    }
    await rds.send(
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: db.id,
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      }),
    );
  }
}
