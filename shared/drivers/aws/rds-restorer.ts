/**
 * RDS restores for recovery: a DB snapshot restored to a NEW instance with the settings of the one
 * it replaces, and the optional name swap that gives the restored instance the old endpoint.
 *
 * RestoreDBInstanceFromDBSnapshot gives RDS defaults to whatever it is not told (public access,
 * deletion protection, IAM authentication, log exports, option group …): every setting
 * `DescribeDBInstances` reports and the call accepts is passed; the ones it does not accept
 * (monitoring, storage autoscaling, Performance Insights, maintenance window) are set right after
 * with `ModifyDBInstance` (API Reference: RestoreDBInstanceFromDBSnapshot, ModifyDBInstance).
 *
 * IAM: `rds:DescribeDBSnapshots`, `rds:DescribeDBInstances`, `rds:ListTagsForResource`,
 * `rds:RestoreDBInstanceFromDBSnapshot` (only from snapshots tagged `stepops:target`),
 * `rds:AddTagsToResource`, `rds:ModifyDBInstance`.
 */
import {
  type DBInstance,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import type { DatabaseRestorer, DbInstanceInfo, DbSettings } from '../ports.ts';
import { rdsClient } from './rds-client.ts';
import { SNAPSHOT_TAGS } from './snapshot-service.ts';

/** The settings a restore must carry over, as DescribeDBInstances reports them. */
function settingsOf(db: DBInstance): DbSettings {
  const given = <T>(value: T | undefined | null): value is T => value !== undefined && value !== null;
  const s: DbSettings = {};
  if (given(db.PubliclyAccessible)) s.publiclyAccessible = db.PubliclyAccessible;
  if (given(db.DeletionProtection)) s.deletionProtection = db.DeletionProtection;
  if (given(db.BackupRetentionPeriod)) s.backupRetentionPeriod = db.BackupRetentionPeriod;
  if (db.PreferredBackupWindow) s.preferredBackupWindow = db.PreferredBackupWindow;
  if (db.PreferredMaintenanceWindow) s.preferredMaintenanceWindow = db.PreferredMaintenanceWindow;
  if (given(db.IAMDatabaseAuthenticationEnabled))
    s.iamDatabaseAuthentication = db.IAMDatabaseAuthenticationEnabled;
  if (given(db.MonitoringInterval)) s.monitoringInterval = db.MonitoringInterval;
  if (db.MonitoringRoleArn) s.monitoringRoleArn = db.MonitoringRoleArn;
  if (given(db.MaxAllocatedStorage)) s.maxAllocatedStorage = db.MaxAllocatedStorage;
  s.logExports = [...(db.EnabledCloudwatchLogsExports ?? [])];
  const option = db.OptionGroupMemberships?.[0]?.OptionGroupName;
  if (option) s.optionGroup = option;
  if (db.StorageType) s.storageType = db.StorageType;
  if (given(db.Iops)) s.iops = db.Iops;
  if (given(db.StorageThroughput)) s.storageThroughput = db.StorageThroughput;
  if (given(db.CopyTagsToSnapshot)) s.copyTagsToSnapshot = db.CopyTagsToSnapshot;
  if (given(db.AutoMinorVersionUpgrade)) s.autoMinorVersionUpgrade = db.AutoMinorVersionUpgrade;
  const port = db.DbInstancePort || db.Endpoint?.Port;
  if (port) s.port = port;
  if (db.CACertificateIdentifier) s.caCertificate = db.CACertificateIdentifier;
  if (given(db.PerformanceInsightsEnabled)) s.performanceInsights = db.PerformanceInsightsEnabled;
  if (db.PerformanceInsightsKMSKeyId) s.performanceInsightsKmsKeyId = db.PerformanceInsightsKMSKeyId;
  if (given(db.PerformanceInsightsRetentionPeriod))
    s.performanceInsightsRetention = db.PerformanceInsightsRetentionPeriod;
  return s;
}

/** What ModifyDBInstance must set on `current` so that it has the settings of `like` the restore could not give. */
function settingsToModify(current: DbSettings, like: DbSettings): Record<string, unknown> {
  const change: Record<string, unknown> = {};
  if (like.monitoringInterval !== undefined && like.monitoringInterval !== current.monitoringInterval) {
    change.MonitoringInterval = like.monitoringInterval;
    if (like.monitoringInterval > 0 && like.monitoringRoleArn)
      change.MonitoringRoleArn = like.monitoringRoleArn;
  }
  if (like.maxAllocatedStorage !== undefined && like.maxAllocatedStorage !== current.maxAllocatedStorage)
    change.MaxAllocatedStorage = like.maxAllocatedStorage;
  if (like.performanceInsights !== undefined && like.performanceInsights !== current.performanceInsights) {
    change.EnablePerformanceInsights = like.performanceInsights;
    if (like.performanceInsights) {
      if (like.performanceInsightsKmsKeyId)
        change.PerformanceInsightsKMSKeyId = like.performanceInsightsKmsKeyId;
      if (like.performanceInsightsRetention !== undefined)
        change.PerformanceInsightsRetentionPeriod = like.performanceInsightsRetention;
    }
  }
  if (
    like.preferredMaintenanceWindow &&
    like.preferredMaintenanceWindow !== current.preferredMaintenanceWindow
  )
    change.PreferredMaintenanceWindow = like.preferredMaintenanceWindow;
  return change;
}

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
        settings: settingsOf(db),
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
    const s = like.settings;
    await this.#rds(region).send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBSnapshotIdentifier: spec.snapshotId,
        DBInstanceIdentifier: spec.newId,
        ...(like.instanceClass ? { DBInstanceClass: like.instanceClass } : {}),
        ...(like.subnetGroup ? { DBSubnetGroupName: like.subnetGroup } : {}),
        ...(like.securityGroupIds.length ? { VpcSecurityGroupIds: like.securityGroupIds } : {}),
        ...(like.parameterGroup ? { DBParameterGroupName: like.parameterGroup } : {}),
        ...(like.multiAz !== undefined ? { MultiAZ: like.multiAz } : {}),
        ...(s.publiclyAccessible !== undefined ? { PubliclyAccessible: s.publiclyAccessible } : {}),
        ...(s.deletionProtection !== undefined ? { DeletionProtection: s.deletionProtection } : {}),
        ...(s.backupRetentionPeriod !== undefined ? { BackupRetentionPeriod: s.backupRetentionPeriod } : {}),
        ...(s.preferredBackupWindow ? { PreferredBackupWindow: s.preferredBackupWindow } : {}),
        ...(s.iamDatabaseAuthentication !== undefined
          ? { EnableIAMDatabaseAuthentication: s.iamDatabaseAuthentication }
          : {}),
        ...(s.logExports?.length ? { EnableCloudwatchLogsExports: s.logExports } : {}),
        ...(s.optionGroup ? { OptionGroupName: s.optionGroup } : {}),
        ...(s.storageType ? { StorageType: s.storageType } : {}),
        ...(s.iops !== undefined ? { Iops: s.iops } : {}),
        ...(s.storageThroughput !== undefined ? { StorageThroughput: s.storageThroughput } : {}),
        ...(s.copyTagsToSnapshot !== undefined ? { CopyTagsToSnapshot: s.copyTagsToSnapshot } : {}),
        ...(s.autoMinorVersionUpgrade !== undefined
          ? { AutoMinorVersionUpgrade: s.autoMinorVersionUpgrade }
          : {}),
        ...(s.port ? { Port: s.port } : {}),
        ...(s.caCertificate ? { CACertificateIdentifier: s.caCertificate } : {}),
        Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  }

  async applySettings(region: string, id: string, like: DbInstanceInfo): Promise<boolean> {
    const current = await this.describe(region, id);
    if (!current) throw new Error(`DB instance ${id} does not exist in ${region}`);
    const change = settingsToModify(current.settings, like.settings);
    if (Object.keys(change).length === 0) return false;
    await this.#rds(region).send(
      new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, ApplyImmediately: true, ...change }),
    );
    return true;
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
