/**
 * Temporary RDS databases for restore tests, tagged `stepops:restore-test`:
 *
 * - a DB snapshot: `RestoreDBInstanceFromDBSnapshot`;
 * - an Aurora cluster snapshot: `RestoreDBClusterFromSnapshot`, then `CreateDBInstance` in that
 *   cluster (a restored cluster has no instance until one is created);
 *
 * both into the declared DB subnet group and VPC security groups (without them RDS uses the default
 * VPC, and fails in a region that has none), never publicly accessible, without deletion
 * protection. A retried restore (the same identifier) finds what the first attempt made: RDS
 * answers `…AlreadyExists`, and the one of that name is used only when it carries the request's
 * tags. Read with `DescribeDBInstances` (and `DescribeDBClusters`); removed with `DeleteDBInstance`
 * and then `DeleteDBCluster`, without a final snapshot, only when the resource carries the tag.
 *
 * IAM: `rds:RestoreDBInstanceFromDBSnapshot`, `rds:RestoreDBClusterFromSnapshot`,
 * `rds:CreateDBInstance`, `rds:AddTagsToResource` (on `db:stepops-rt-*`, `cluster:stepops-rt-*`),
 * `rds:DescribeDBInstances`, `rds:DescribeDBClusters` (by the restore too, after `…AlreadyExists`),
 * `rds:DeleteDBInstance`, `rds:DeleteDBCluster` (on resources tagged `stepops:restore-test`).
 */
import {
  CreateDBInstanceCommand,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { InvalidInputError } from '../../errors.ts';
import { BackupThrottledError, NotStepopsCopyError } from '../errors.ts';
import type { ScratchDatabase, ScratchDatabases } from '../ports.ts';
import { isThrottling } from './copy-tags.ts';
import { rdsClient } from './rds-client.ts';

/** The tag every restore-test instance carries. */
export const RESTORE_TEST_TAG = 'stepops:restore-test';

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'DBInstanceNotFoundFault' || name === 'DBClusterNotFoundFault';
}

function tagged(tags: Tag[] | undefined): boolean {
  return (tags ?? []).some((t) => t.Key === RESTORE_TEST_TAG && t.Value === 'true');
}

/** RDS's answer to a create whose identifier is taken (the SDK's `…Fault` class, or the API code). */
function isAlreadyExists(error: unknown, what: 'DBInstance' | 'DBCluster'): boolean {
  const name = (error as { name?: string }).name;
  return name === `${what}AlreadyExistsFault` || name === `${what}AlreadyExists`;
}

/** Whether a resource carries every one of these tags with its value. */
function carries(tags: Tag[] | undefined, wanted: Tag[]): boolean {
  return wanted.every((w) => (tags ?? []).some((t) => t.Key === w.Key && t.Value === w.Value));
}

/** The instance of a restored cluster: the cluster's name with `-1`, within 63 characters. */
export function clusterInstanceId(clusterId: string): string {
  return `${clusterId.slice(0, 61)}-1`;
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
    const rds = this.#rds(request.region);
    const Tags = Object.entries({ ...request.tags, [RESTORE_TEST_TAG]: 'true' }).map(([Key, Value]) => ({
      Key,
      Value,
    }));
    const network = {
      ...(request.dbSubnetGroup ? { DBSubnetGroupName: request.dbSubnetGroup } : {}),
      ...(request.securityGroupIds ? { VpcSecurityGroupIds: request.securityGroupIds } : {}),
    };
    const call = request.cluster ? 'RestoreDBClusterFromSnapshot' : 'RestoreDBInstanceFromDBSnapshot';
    try {
      if (!request.cluster) {
        await this.#unlessMade(rds, 'DBInstance', request.instanceId, Tags, () =>
          rds.send(
            new RestoreDBInstanceFromDBSnapshotCommand({
              DBInstanceIdentifier: request.instanceId,
              DBSnapshotIdentifier: request.snapshotId,
              DBInstanceClass: request.instanceClass,
              ...network,
              MultiAZ: false,
              PubliclyAccessible: false,
              DeletionProtection: false,
              Tags,
            }),
          ),
        );
        return { id: request.instanceId, region: request.region };
      }
      if (!request.engine) {
        throw new InvalidInputError(
          `restoring the cluster snapshot ${request.snapshotId} needs its engine (restoreTest.engine)`,
        );
      }
      const engine = request.engine;
      await this.#unlessMade(rds, 'DBCluster', request.instanceId, Tags, () =>
        rds.send(
          new RestoreDBClusterFromSnapshotCommand({
            DBClusterIdentifier: request.instanceId,
            SnapshotIdentifier: request.snapshotId,
            Engine: engine,
            ...network,
            DeletionProtection: false,
            Tags,
          }),
        ),
      );
      const instanceId = clusterInstanceId(request.instanceId);
      await this.#unlessMade(rds, 'DBInstance', instanceId, Tags, () =>
        rds.send(
          new CreateDBInstanceCommand({
            DBInstanceIdentifier: instanceId,
            DBClusterIdentifier: request.instanceId,
            DBInstanceClass: request.instanceClass,
            Engine: engine,
            PubliclyAccessible: false,
            Tags,
          }),
        ),
      );
      return { id: instanceId, region: request.region, cluster: request.instanceId };
    } catch (error) {
      if (isThrottling(error)) throw new BackupThrottledError(`rds:${call} was throttled`);
      throw error;
    }
  }

  /**
   * Makes the instance or cluster, unless an earlier attempt of the same request made it: RDS then
   * answers `…AlreadyExists`, and the one of that identifier is taken as made when it carries every
   * tag of the request (the restore-test tag and this run's); any other is refused.
   */
  async #unlessMade(
    rds: RDSClient,
    what: 'DBInstance' | 'DBCluster',
    id: string,
    tags: Tag[],
    make: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await make();
    } catch (error) {
      if (!isAlreadyExists(error, what)) throw error;
      const found =
        what === 'DBInstance'
          ? (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0]
          : (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
      if (!carries(found?.TagList, tags)) {
        throw new NotStepopsCopyError(
          `${id} already exists and is not this run's restore test (its tags differ): not used`,
        );
      }
    }
  }

  async status(db: ScratchDatabase): Promise<{ status: string; endpoint?: string }> {
    try {
      const output = await this.#rds(db.region).send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: db.id }),
      );
      const instance = output.DBInstances?.[0];
      if (instance || !db.cluster) {
        return {
          status: instance?.DBInstanceStatus ?? 'missing',
          ...(instance?.Endpoint?.Address
            ? { endpoint: `${instance.Endpoint.Address}:${instance.Endpoint.Port ?? ''}` }
            : {}),
        };
      }
    } catch (error) {
      if (isThrottling(error)) return { status: 'throttled' };
      if (!isNotFound(error)) throw error;
      if (!db.cluster) return { status: 'missing' };
    }
    // The cluster's instance is gone: the cluster is what is left.
    try {
      const output = await this.#rds(db.region).send(
        new DescribeDBClustersCommand({ DBClusterIdentifier: db.cluster }),
      );
      const cluster = output.DBClusters?.[0];
      return { status: cluster ? `cluster-${cluster.Status ?? 'unknown'}` : 'missing' };
    } catch (error) {
      if (isNotFound(error)) return { status: 'missing' };
      if (isThrottling(error)) return { status: 'throttled' };
      throw error;
    }
  }

  async remove(db: ScratchDatabase): Promise<void> {
    const rds = this.#rds(db.region);
    let instance: { TagList?: Tag[]; DBInstanceStatus?: string } | undefined;
    try {
      const output = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: db.id }));
      instance = output.DBInstances?.[0];
    } catch (error) {
      if (!isNotFound(error) || !db.cluster) throw error;
    }
    if (instance) {
      if (!tagged(instance.TagList)) {
        throw new NotStepopsCopyError(`${db.id} is not a stepops restore-test instance: not deleted`);
      }
      if (instance.DBInstanceStatus === 'deleting') return;
      await rds.send(
        new DeleteDBInstanceCommand(
          db.cluster
            ? { DBInstanceIdentifier: db.id }
            : { DBInstanceIdentifier: db.id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
        ),
      );
      return;
    }
    if (!db.cluster) return;
    // A cluster can be deleted once its instances are: the poll calls again when the instance is gone.
    const output = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: db.cluster }));
    const cluster = output.DBClusters?.[0];
    if (!cluster || cluster.Status === 'deleting') return;
    if (!tagged(cluster.TagList)) {
      throw new NotStepopsCopyError(`${db.cluster} is not a stepops restore-test cluster: not deleted`);
    }
    await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: db.cluster, SkipFinalSnapshot: true }));
  }
}
