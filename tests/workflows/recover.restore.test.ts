/**
 * Restores that keep production's settings, and acting steps that a retry does not repeat, on the
 * local engine against EC2 and RDS mocked at the command level (tests/workflows/aws-fakes.ts, whose
 * RestoreDBInstanceFromDBSnapshot gives RDS defaults to whatever it is not told).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateVolumeCommand } from '@aws-sdk/client-ec2';
import { ModifyDBInstanceCommand, RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { Ec2HostDirectory } from '../../shared/drivers/aws/ec2-host-directory.ts';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { RdsRestorer } from '../../shared/drivers/aws/rds-restorer.ts';
import { S3DumpLocator } from '../../shared/drivers/aws/s3-dump-locator.ts';
import { SsmCommandRunner } from '../../shared/drivers/aws/ssm-command-runner.ts';
import type { CommandRunner } from '../../shared/drivers/ports.ts';
// Every call the handlers send is checked against the stacks' policies, KMS on the caller's behalf too.
import '../iam/record-calls.ts';
import { type FakeAws, fakeAws } from './aws-fakes.ts';
import {
  createHostSimulator,
  type HostSimulator,
  recordingProbes,
  recoverEngine,
} from './recover.fixtures.ts';

const INSTANCE = 'i-0a1b2c3d4e5f60001';
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000001';
/** Production's settings, as DescribeDBInstances reports them: none of them RDS's default. */
const PRODUCTION = {
  PubliclyAccessible: false,
  DeletionProtection: true,
  BackupRetentionPeriod: 14,
  PreferredBackupWindow: '02:00-02:30',
  PreferredMaintenanceWindow: 'sun:04:00-sun:04:30',
  IAMDatabaseAuthenticationEnabled: true,
  MonitoringInterval: 60,
  MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
  MaxAllocatedStorage: 500,
  EnabledCloudwatchLogsExports: ['postgresql', 'upgrade'],
  OptionGroupMemberships: [{ OptionGroupName: 'app-pg14', Status: 'in-sync' }],
  DBParameterGroups: [{ DBParameterGroupName: 'app-pg14-params' }],
  StorageType: 'gp3',
  Iops: 3000,
  StorageThroughput: 125,
  CopyTagsToSnapshot: true,
  AutoMinorVersionUpgrade: false,
  PerformanceInsightsEnabled: true,
  PerformanceInsightsKMSKeyId: KEY,
  PerformanceInsightsRetentionPeriod: 7,
  CACertificateIdentifier: 'rds-ca-rsa2048-g1',
};

let sim: HostSimulator;
let home: string | undefined;
let aws: FakeAws | undefined;

beforeAll(async () => {
  sim = await createHostSimulator();
  const target: TargetInput = {
    name: 'rc-restore',
    description: 'restores',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      instanceIds: [INSTANCE],
      user: 'root',
      workingDirectory: '/opt/app',
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'app', type: 'command', script: 'true', timeout: 10 }],
    },
    recovery: {
      'restore-db': {
        description: 'restore the database and take over its name',
        steps: [{ type: 'restore-rds', name: 'restore-db', dbInstance: 'app-db', swapNames: true }],
      },
      'run-script': {
        description: 'a script on the host',
        steps: [{ type: 'script', name: 'migrate', script: 'echo migrate', timeout: 30, destructive: true }],
      },
      'restore-data': {
        description: 'restore the data volume',
        steps: [{ type: 'restore-volume', name: 'restore-data', device: '/dev/sdf' }],
      },
    },
  };
  registerTarget(target);
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  aws?.restore();
  aws = undefined;
  if (home) await rm(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  home = undefined;
});

function account(): FakeAws {
  aws = fakeAws({
    instances: [
      {
        id: INSTANCE,
        state: 'running',
        tags: { Name: 'app' },
        az: 'eu-west-1a',
        volumes: [
          { device: '/dev/xvda', volumeId: 'vol-0root000000000001' },
          { device: '/dev/sdf', volumeId: 'vol-0data000000000001' },
        ],
      },
    ],
    volumeSettings: { 'vol-0data000000000001': { type: 'io2', iops: 6000, kmsKeyId: KEY } },
    snapshots: [{ id: 'snap-0aaaaaaaaaaaaaaa1', volumeId: 'vol-0data000000000001', target: 'rc-restore' }],
    dbs: { 'app-db': 'app-db.abc.rds.example' },
    dbSettings: { 'app-db': PRODUCTION },
    dbSnapshots: [{ id: 'stepops-rc-restore-20260102-030000', dbInstance: 'app-db', target: 'rc-restore' }],
  });
  return aws;
}

/** Lambda's error when an invocation's answer is lost: the workflow's Retry invokes it again. */
const lost = () => Object.assign(new Error('the answer was lost'), { name: 'Lambda.ServiceException' });

/** RDS whose restore and renames act, then lose their answer, once each. */
class LosingRds extends RdsRestorer {
  readonly lostAfter: string[] = [];
  override async restore(...args: Parameters<RdsRestorer['restore']>): Promise<void> {
    await super.restore(...args);
    this.#once(`restore ${args[1].newId}`);
  }
  override async rename(region: string, id: string, newId: string): Promise<void> {
    await super.rename(region, id, newId);
    this.#once(`rename ${id} ${newId}`);
  }
  #once(what: string): void {
    if (this.lostAfter.includes(what)) return;
    this.lostAfter.push(what);
    throw lost();
  }
}

/** EC2 whose CreateVolume acts, then loses its answer, once. */
class LosingEc2 extends Ec2InstanceOperations {
  lost = 0;
  override async createVolume(...args: Parameters<Ec2InstanceOperations['createVolume']>): Promise<string> {
    const id = await super.createVolume(...args);
    if (this.lost === 0) {
      this.lost += 1;
      throw lost();
    }
    return id;
  }
}

async function run(
  runbook: string,
  drivers: { instances?: Ec2InstanceOperations; databases?: RdsRestorer; commands?: CommandRunner } = {},
) {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-rc-restore-'));
  process.env.STEPOPS_HOME = home;
  const { engine, tokens } = recoverEngine({
    home,
    commands: () => drivers.commands ?? sim.runner,
    hosts: () => new Ec2HostDirectory(),
    probes: () => recordingProbes(),
    instances: () => drivers.instances ?? new Ec2InstanceOperations(),
    databases: () => drivers.databases ?? new RdsRestorer(),
    dumps: () => new S3DumpLocator(),
  });
  return engine.start(
    { target: 'rc-restore', runbook, reason: 'vitest' },
    {
      executionName: `rc-restore-${runbook}`,
      retryIntervalOverrides: Object.fromEntries(
        ['RestoreDatabase', 'RestoreVolume', 'RunCommand'].map((s) => [s, 0]),
      ),
      onTaskToken: (task) =>
        tokens.sendTaskSuccess(task.token, { approved: true, by: 'vitest', at: new Date().toISOString() }),
    },
  ).result;
}

describe('restores keep production’s settings', () => {
  it('a database restore that takes over the production name carries every setting over', async () => {
    // Prepare
    const fake = account();
    const rds = new RdsRestorer();
    const before = await rds.describe('eu-west-1', 'app-db');

    // Act
    const result = await run('restore-db');

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    const after = await rds.describe('eu-west-1', 'app-db');
    expect(after?.endpoint).not.toBe(before?.endpoint);
    expect(after?.settings).toEqual(before?.settings);
    expect(after).toMatchObject({
      instanceClass: before?.instanceClass,
      subnetGroup: before?.subnetGroup,
      securityGroupIds: before?.securityGroupIds,
      parameterGroup: before?.parameterGroup,
      multiAz: before?.multiAz,
    });
    // The settings as written in the test, not as the code under test reads them.
    expect(fake.dbs.get('app-db')?.fields).toMatchObject(PRODUCTION);
    // Monitoring, autoscaling, Performance Insights and the maintenance window go by ModifyDBInstance.
    const restore = fake.rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]?.args[0].input;
    expect(restore).toMatchObject({
      PubliclyAccessible: false,
      DeletionProtection: true,
      EnableIAMDatabaseAuthentication: true,
    });
    const settings = fake.rds
      .commandCalls(ModifyDBInstanceCommand)
      .map((c) => c.args[0].input as Record<string, unknown>)
      .find((i) => !('NewDBInstanceIdentifier' in i));
    expect(settings).toMatchObject({
      MonitoringInterval: 60,
      MaxAllocatedStorage: 500,
      ApplyImmediately: true,
    });
  });

  it('a volume restore keeps the volume’s type, IOPS and KMS key', async () => {
    // Prepare
    const fake = account();

    // Act
    const result = await run('restore-data');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const created = fake.ec2.commandCalls(CreateVolumeCommand)[0]?.args[0].input;
    expect(created).toMatchObject({ VolumeType: 'io2', Iops: 6000, Encrypted: true, KmsKeyId: KEY });
    const restored = [...fake.volumes.values()].find(
      (v) => v.instanceId === INSTANCE && v.device === '/dev/sdf',
    );
    expect(restored).toMatchObject({ type: 'io2', iops: 6000, kmsKeyId: KEY });
  });
});

/** SSM whose first SendCommand acts, then loses its answer. */
class LosingSsm extends SsmCommandRunner {
  lost = 0;
  override async send(...args: Parameters<SsmCommandRunner['send']>) {
    const handle = await super.send(...args);
    if (this.lost === 0) {
      this.lost += 1;
      throw lost();
    }
    return handle;
  }
}

describe('acting steps a retry does not repeat', () => {
  it('run-recovery-command: a retry after the command was sent finds it instead of running the script again', async () => {
    // Prepare
    const fake = account();
    const ssm = new LosingSsm();

    // Act
    const result = await run('run-script', { commands: ssm });

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    expect(ssm.lost).toBe(1);
    expect(fake.commands).toHaveLength(1);
    expect(fake.commands[0]?.InstanceIds).toEqual([INSTANCE]);
  });

  it('create-volume: a retry after the volume was created finds it instead of creating another', async () => {
    // Prepare
    const fake = account();
    const ec2 = new LosingEc2();

    // Act
    const result = await run('restore-data', { instances: ec2 });

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    expect(ec2.lost).toBe(1);
    expect(fake.log.filter((c) => c === 'CreateVolume')).toHaveLength(1);
  });

  it('RDS restore and renames: a retry after each acted finds what it did', async () => {
    // Prepare
    const fake = account();
    const rds = new LosingRds();

    // Act
    const result = await run('restore-db', { databases: rds });

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    expect(rds.lostAfter).toHaveLength(3);
    expect(fake.log.filter((c) => c === 'RestoreDBInstanceFromDBSnapshot')).toHaveLength(1);
    const renames = fake.rds
      .commandCalls(ModifyDBInstanceCommand)
      .filter((c) => 'NewDBInstanceIdentifier' in (c.args[0].input as object));
    expect(renames).toHaveLength(2);
    expect(fake.dbs.get('app-db')?.endpoint).toMatch(/^app-db-r[0-9a-f]{8}\.rds\.example$/);
  });
});
