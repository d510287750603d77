/**
 * RDS restores for recovery: a DB snapshot restored to a NEW instance with the settings of the one
 * it replaces, and the optional name swap that gives the restored instance the old endpoint.
 *
 * IAM: `rds:DescribeDBSnapshots`, `rds:DescribeDBInstances`, `rds:ListTagsForResource`,
 * `rds:RestoreDBInstanceFromDBSnapshot` (only from snapshots tagged `stepops:target`),
 * `rds:AddTagsToResource`, `rds:ModifyDBInstance`.
 */
import {
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import type { DatabaseRestorer, DbInstanceInfo } from '../ports.ts';
import { rdsClient } from './clients.ts';
import { SNAPSHOT_TAGS } from './snapshot-service.ts';

function notFound(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return (
    name === 'DBSnapshotNotFoundFault' ||
    name === 'DBInstanceNotFoundFault' ||
    name === 'DBSnapshotNotFound' ||
    name === 'DBInstanceNotFound'
  );
}

/** Snapshot states that never become restorable: not candidates for "the newest snapshot". */
const UNUSABLE = new Set(['failed', 'deleting', 'incompatible-restore', 'incompatible-parameters']);

export interface RdsRestorerOptions {
  rds?: (region: string) => RDSClient;
}

/**
 * Restores RDS snapshots to new instances.
 *
 * @example
 * const rds = new RdsRestorer();
 * const snapshot = await rds.findSnapshot('eu-west-1', { dbInstance: 'datizmo-db', target: 'datizmo' });
 */
export class RdsRestorer implements DatabaseRestorer {
  readonly #rds: (region: string) => RDSClient;

  constructor(options: RdsRestorerOptions = {}) {
    this.#rds = options.rds ?? rdsClient;
  }

  async findSnapshot(
    region: string,
    query: { snapshotId: string } | { dbInstance: string; target: string },
  ): Promise<{ snapshotId: string; status: string; stepops: boolean } | undefined> {
    try {
      const output = await this.#rds(region).send(
        'snapshotId' in query
          ? new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: query.snapshotId })
          : new DescribeDBSnapshotsCommand({
              DBInstanceIdentifier: query.dbInstance,
              SnapshotType: 'manual',
            }),
      );
      const target = 'target' in query ? query.target : undefined;
      // The newest stepops snapshot, whatever its state: one still `creating` (a pre-deploy snapshot
      // just taken) is returned as such, never passed over for an older one; the caller waits or asks.
      const candidates = (output.DBSnapshots ?? []).filter((s) => {
        if (!target) return true;
        const tagged = (s.TagList ?? []).some((t) => t.Key === SNAPSHOT_TAGS.target && t.Value === target);
        return tagged && !UNUSABLE.has(s.Status ?? '');
      });
      const newest = candidates.sort(
        (a, b) => (b.SnapshotCreateTime?.getTime() ?? 0) - (a.SnapshotCreateTime?.getTime() ?? 0),
      )[0];
      if (!newest?.DBSnapshotIdentifier) return undefined;
      return {
        snapshotId: newest.DBSnapshotIdentifier,
        status: newest.Status ?? 'unknown',
        stepops: (newest.TagList ?? []).some((t) => t.Key === SNAPSHOT_TAGS.target),
      };
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  async describe(region: string, id: string): Promise<DbInstanceInfo | undefined> {
    try {
      const output = await this.#rds(region).send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }),
      );
      const db = output.DBInstances?.[0];
      if (!db?.DBInstanceIdentifier) return undefined;
      return {
        id: db.DBInstanceIdentifier,
        status: db.DBInstanceStatus ?? 'unknown',
        ...(db.DBInstanceClass ? { instanceClass: db.DBInstanceClass } : {}),
        ...(db.DBSubnetGroup?.DBSubnetGroupName ? { subnetGroup: db.DBSubnetGroup.DBSubnetGroupName } : {}),
        securityGroupIds: (db.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean),
        ...(db.DBParameterGroups?.[0]?.DBParameterGroupName
          ? { parameterGroup: db.DBParameterGroups[0].DBParameterGroupName }
          : {}),
        ...(db.MultiAZ !== undefined ? { multiAz: db.MultiAZ } : {}),
        ...(db.Endpoint?.Address ? { endpoint: `${db.Endpoint.Address}:${db.Endpoint.Port ?? ''}` } : {}),
      };
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  async restore(
    region: string,
    spec: { snapshotId: string; newId: string; like: DbInstanceInfo; tags: Record<string, string> },
  ): Promise<void> {
    const like = spec.like;
    await this.#rds(region).send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBSnapshotIdentifier: spec.snapshotId,
        DBInstanceIdentifier: spec.newId,
        ...(like.instanceClass ? { DBInstanceClass: like.instanceClass } : {}),
        ...(like.subnetGroup ? { DBSubnetGroupName: like.subnetGroup } : {}),
        ...(like.securityGroupIds.length ? { VpcSecurityGroupIds: like.securityGroupIds } : {}),
        ...(like.parameterGroup ? { DBParameterGroupName: like.parameterGroup } : {}),
        ...(like.multiAz !== undefined ? { MultiAZ: like.multiAz } : {}),
        Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  }

  async rename(region: string, id: string, newId: string): Promise<void> {
    await this.#rds(region).send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: id,
        NewDBInstanceIdentifier: newId,
        ApplyImmediately: true,
      }),
    );
  }
}
