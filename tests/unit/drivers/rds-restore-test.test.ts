/**
 * RDS restore tests in an account without a default VPC: the temporary database goes into the
 * declared DB subnet group and security groups; an Aurora cluster snapshot is restored with the
 * cluster API (RestoreDBClusterFromSnapshot, then CreateDBInstance in the new cluster) and removed
 * instance first, then cluster. The fake RDS below answers as RDS does:
 * - RestoreDBInstanceFromDBSnapshot without DBSubnetGroupName uses the default VPC, and fails with
 *   `InvalidVPCNetworkStateFault` where there is none (RDS API Reference,
 *   RestoreDBInstanceFromDBSnapshot, "DBSubnetGroupName" and Errors);
 * - a cluster restored from a snapshot has no instance until CreateDBInstance adds one (Aurora User
 *   Guide, "Restoring from a DB cluster snapshot");
 * - DeleteDBCluster fails with `InvalidDBClusterStateFault` while the cluster still has instances
 *   (RDS API Reference, DeleteDBCluster);
 * - unknown identifiers answer `DBInstanceNotFoundFault` / `DBClusterNotFoundFault`.
 */
import {
  CreateDBInstanceCommand,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BackupCapabilities, BackupDeps } from '../../../shared/backup/deps.ts';
import { pollRestoreTestStep } from '../../../shared/backup/steps/poll-restore-test.ts';
import { startRestoreTestStep } from '../../../shared/backup/steps/start-restore-test.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { type TargetInput, targetSchema } from '../../../shared/config/schema.ts';
import { RdsScratchDatabases } from '../../../shared/drivers/aws/rds-scratch-databases.ts';
import type { CatalogueEntry } from '../../../shared/drivers/ports.ts';

const rds = mockClient(RDSClient);
const NETWORK = { dbSubnetGroup: 'app-private', securityGroupIds: ['sg-0123456789abcdef0'] };

type Tags = { Key: string; Value: string }[];
const world = {
  instances: new Map<string, { status: string; tags: Tags; cluster?: string }>(),
  clusters: new Map<string, { status: string; tags: Tags }>(),
};

function fault(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

function fakeRds(): void {
  rds.reset();
  world.instances.clear();
  world.clusters.clear();
  rds.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake((input) => {
    if (!input.DBSubnetGroupName) throw fault('InvalidVPCNetworkStateFault', 'no default VPC');
    world.instances.set(input.DBInstanceIdentifier, { status: 'creating', tags: input.Tags });
    return {};
  });
  rds.on(RestoreDBClusterFromSnapshotCommand).callsFake((input) => {
    if (!input.DBSubnetGroupName) throw fault('InvalidVPCNetworkStateFault', 'no default VPC');
    if (!input.Engine) throw fault('InvalidParameterValue', 'Engine is required');
    world.clusters.set(input.DBClusterIdentifier, { status: 'creating', tags: input.Tags });
    return {};
  });
  rds.on(CreateDBInstanceCommand).callsFake((input) => {
    if (!world.clusters.has(input.DBClusterIdentifier))
      throw fault('DBClusterNotFoundFault', 'no such cluster');
    world.instances.set(input.DBInstanceIdentifier, {
      status: 'creating',
      tags: input.Tags,
      cluster: input.DBClusterIdentifier,
    });
    return {};
  });
  // Each read moves a resource on: creating → available, deleting → gone.
  rds.on(DescribeDBInstancesCommand).callsFake((input) => {
    const found = world.instances.get(input.DBInstanceIdentifier);
    if (!found) throw fault('DBInstanceNotFoundFault', 'not found');
    const shown = { DBInstanceStatus: found.status, TagList: found.tags };
    if (found.status === 'creating') found.status = 'available';
    else if (found.status === 'deleting') world.instances.delete(input.DBInstanceIdentifier);
    return { DBInstances: [shown] };
  });
  rds.on(DescribeDBClustersCommand).callsFake((input) => {
    const found = world.clusters.get(input.DBClusterIdentifier);
    if (!found) throw fault('DBClusterNotFoundFault', 'not found');
    const shown = { Status: found.status, TagList: found.tags };
    if (found.status === 'creating') found.status = 'available';
    else if (found.status === 'deleting') world.clusters.delete(input.DBClusterIdentifier);
    return { DBClusters: [shown] };
  });
  rds.on(DeleteDBInstanceCommand).callsFake((input) => {
    const found = world.instances.get(input.DBInstanceIdentifier);
    if (!found) throw fault('DBInstanceNotFoundFault', 'not found');
    found.status = 'deleting';
    return {};
  });
  rds.on(DeleteDBClusterCommand).callsFake((input) => {
    if ([...world.instances.values()].some((i) => i.cluster === input.DBClusterIdentifier))
      throw fault('InvalidDBClusterStateFault', 'Cluster cannot be deleted, it still contains DB instances');
    const found = world.clusters.get(input.DBClusterIdentifier);
    if (!found) throw fault('DBClusterNotFoundFault', 'not found');
    found.status = 'deleting';
    return {};
  });
}

const target = (restoreTest: Record<string, unknown>, db: Record<string, string>): TargetInput =>
  ({
    name: 'aurora-app',
    description: 'An app on Aurora in a VPC without defaults',
    hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'x' }, workingDirectory: '/opt/x' },
    backup: [
      {
        name: 'database',
        type: 'rds-snapshot',
        ...db,
        region: 'eu-west-1',
        schedule: 'cron(0 3 * * ? *)',
        retention: { days: 7 },
        restoreTest: { schedule: 'cron(0 5 ? * SUN *)', ...restoreTest },
      },
    ],
  }) as TargetInput;

function deps(snapshotId: string): BackupDeps {
  const clock = { now: Date.parse('2026-03-01T05:00:00Z') };
  const copy: CatalogueEntry = {
    target: 'aurora-app',
    backup: 'database',
    runId: 'copy-1',
    kind: 'rds-snapshot',
    location: `rds:eu-west-1:${snapshotId}`,
    resources: [{ id: snapshotId, region: 'eu-west-1' }],
    startedAt: '2026-03-01T03:00:00.000Z',
    finishedAt: '2026-03-01T03:10:00.000Z',
    outcome: 'good',
  };
  return {
    findTarget,
    drivers: () =>
      ({
        catalogue: { list: async () => [copy] },
        scratch: new RdsScratchDatabases({ rds: () => new RDSClient({ region: 'eu-west-1' }) }),
      }) as unknown as BackupCapabilities,
    fallbackNotifier: () => {
      throw new Error('unused');
    },
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
  };
}

async function runTest(d: BackupDeps) {
  let handle = await startRestoreTestStep(
    { target: 'aurora-app', runId: 'rt-1', job: { name: 'database', type: 'rds-snapshot' } },
    d,
  );
  for (let i = 0; i < 20; i += 1) {
    const status = await pollRestoreTestStep({ handle }, d, () => 85_000);
    if (status.status !== 'running') return status;
    handle = status.handle;
  }
  throw new Error('the restore test never ended');
}

const savedEnv = { ...process.env };
beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake';
});
afterAll(() => {
  clearRegisteredTargets();
  process.env = savedEnv;
});
beforeEach(() => fakeRds());

describe('RDS restore tests without a default VPC', () => {
  it('restores an instance snapshot into the declared subnet group and security groups, then deletes it', async () => {
    // Prepare
    registerTarget(target(NETWORK, { dbInstance: 'app-db' }));

    // Act
    const status = await runTest(deps('stepops-aurora-app-database-x'));

    // Assess
    expect(status.status, status.detail).toBe('passed');
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBSnapshotIdentifier: 'stepops-aurora-app-database-x',
      DBInstanceClass: 'db.t4g.micro',
      DBSubnetGroupName: 'app-private',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      PubliclyAccessible: false,
    });
    expect(world.instances.size).toBe(0);
  });

  it('restores an Aurora cluster snapshot with the cluster API, adds an instance, and removes both', async () => {
    // Prepare
    registerTarget(target({ ...NETWORK, engine: 'aurora-postgresql' }, { dbCluster: 'app-cluster' }));

    // Act
    const status = await runTest(deps('stepops-aurora-app-database-y'));

    // Assess
    expect(status.status, status.detail).toBe('passed');
    expect(rds).toHaveReceivedCommandWith(RestoreDBClusterFromSnapshotCommand, {
      SnapshotIdentifier: 'stepops-aurora-app-database-y',
      Engine: 'aurora-postgresql',
      DBSubnetGroupName: 'app-private',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      DeletionProtection: false,
    });
    const cluster = rds.commandCalls(RestoreDBClusterFromSnapshotCommand)[0]?.args[0].input;
    expect(cluster?.DBClusterIdentifier).toMatch(/^stepops-rt-aurora-app-/);
    expect(cluster?.Tags).toContainEqual({ Key: 'stepops:restore-test', Value: 'true' });
    expect(rds).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
      DBClusterIdentifier: cluster?.DBClusterIdentifier,
      DBInstanceClass: 'db.t4g.medium',
      Engine: 'aurora-postgresql',
      PubliclyAccessible: false,
    });
    expect(rds).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
    expect(rds).toHaveReceivedCommandWith(DeleteDBClusterCommand, {
      DBClusterIdentifier: cluster?.DBClusterIdentifier,
      SkipFinalSnapshot: true,
    });
    expect(world.instances.size).toBe(0);
    expect(world.clusters.size).toBe(0);
  });

  it('never deletes a cluster stepops did not tag', async () => {
    // Prepare
    world.clusters.set('stepops-rt-foreign', { status: 'available', tags: [] });
    const scratch = new RdsScratchDatabases({ rds: () => new RDSClient({ region: 'eu-west-1' }) });

    // Act
    const removal = scratch.remove({
      id: 'stepops-rt-foreign-1',
      region: 'eu-west-1',
      cluster: 'stepops-rt-foreign',
    });

    // Assess
    await expect(removal).rejects.toThrow('stepops-rt-foreign is not a stepops restore-test cluster');
    expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
  });

  it('validate refuses a cluster restore test without its engine, and an engine on an instance', () => {
    // Act
    const noEngine = targetSchema.safeParse(target(NETWORK, { dbCluster: 'app-cluster' }));
    const engineOnInstance = targetSchema.safeParse(
      target({ engine: 'aurora-mysql' }, { dbInstance: 'app-db' }),
    );
    const badGroup = targetSchema.safeParse(
      target({ securityGroupIds: ['default'] }, { dbInstance: 'app-db' }),
    );

    // Assess
    expect(noEngine.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['backup.0.restoreTest.engine', expect.stringContaining('needs its engine')],
    ]);
    expect(engineOnInstance.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'backup.0.restoreTest.engine',
    ]);
    expect(badGroup.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'backup.0.restoreTest.securityGroupIds.0',
    ]);
  });
});
