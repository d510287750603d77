/**
 * Faults of the AWS steps on the local engine, against EC2 and RDS mocked at the command level: the
 * pre-flight refuses what does not exist before anything changes; a replacement that fails after its
 * launch leaves the old instance untouched and names the new one; a reboot waits for the instance to
 * come back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeInstanceStatusCommand, RebootInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { Ec2HostDirectory } from '../../shared/drivers/aws/ec2-host-directory.ts';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { RdsRestorer } from '../../shared/drivers/aws/rds-restorer.ts';
import { S3DumpLocator } from '../../shared/drivers/aws/s3-dump-locator.ts';
import '../iam/record-calls.ts';
import { type FakeAws, fakeAws } from './aws-fakes.ts';
import {
  createHostSimulator,
  type HostSimulator,
  recordingProbes,
  recoverEngine,
} from './recover.fixtures.ts';

const OLD = 'i-0a1b2c3d4e5f60001';
const ALLOCATION = 'eipalloc-0a1b2c3d4e5f60718';
const MUTATING = [
  'RebootInstances',
  'StopInstances',
  'StartInstances',
  'CreateVolume',
  'DetachVolume',
  'AttachVolume',
  'RunInstances',
  'AssociateAddress',
  'CreateTags',
  'RestoreDBInstanceFromDBSnapshot',
  'ModifyDBInstance',
];

let sim: HostSimulator;
let home: string;
let aws: FakeAws | undefined;

beforeAll(async () => {
  sim = await createHostSimulator();
  const target: TargetInput = {
    name: 'rc-ec2',
    description: 'ec2 faults',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'rc' },
      user: 'root',
      workingDirectory: '/opt/rc',
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'app', type: 'command', script: 'true', timeout: 10 }],
    },
    recovery: {
      replace: {
        description: 'replace from the launch template',
        steps: [
          {
            type: 'replace-instance',
            name: 'replace-instance',
            launchTemplate: { id: 'lt-0a1b2c3d4e5f60718', version: '3' },
            elasticIpAllocationId: ALLOCATION,
            dataVolumeDevice: '/dev/sdf',
            timeout: 3,
          },
        ],
      },
      'replace-from-ami': {
        description: 'replace from a named AMI',
        steps: [
          {
            type: 'replace-instance',
            name: 'replace-instance',
            amiId: 'ami-0000000000000dead',
            elasticIpAllocationId: ALLOCATION,
          },
        ],
      },
      'restore-named': {
        description: 'restore a named snapshot',
        steps: [
          {
            type: 'restore-volume',
            name: 'restore-root',
            device: '/dev/sda1',
            snapshot: 'snap-0000000000000dead',
          },
        ],
      },
      'restore-db': {
        description: 'restore a DB from a snapshot named by a parameter',
        steps: [{ type: 'restore-rds', name: 'restore-db', dbInstance: 'rc-db', snapshotParam: 'snapshot' }],
        params: { snapshot: { type: 'string', description: 'snapshot', default: '' } },
      },
      reboot: {
        description: 'reboot',
        steps: [{ type: 'reboot', name: 'reboot', timeout: 60 }],
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
  await rm(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

function account(overrides: Partial<Parameters<typeof fakeAws>[0]> = {}): FakeAws {
  aws = fakeAws({
    instances: [
      {
        id: OLD,
        state: 'running',
        tags: { App: 'rc', Name: 'rc' },
        az: 'eu-west-1a',
        volumes: [
          { device: '/dev/sda1', volumeId: 'vol-0root000000000001' },
          { device: '/dev/sdf', volumeId: 'vol-0data000000000001' },
        ],
      },
    ],
    launchTemplates: ['lt-0a1b2c3d4e5f60718'],
    // The launch template's AMI (the pre-flight checks that it exists and what it maps).
    images: [{ id: 'ami-0fedcba9876543210', target: 'rc-ec2' }],
    addresses: { [ALLOCATION]: '203.0.113.7' },
    dbs: { 'rc-db': 'rc-db.abc.rds.example' },
    dbSnapshots: [
      { id: 'rds:rc-db-2026-01-01-03-00', dbInstance: 'rc-db' },
      { id: 'stepops-rc-ec2-20260102-030000', dbInstance: 'rc-db', target: 'rc-ec2' },
    ],
    ...overrides,
  });
  return aws;
}

async function run(runbook: string, params?: Record<string, string>) {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-rc-ec2-'));
  process.env.STEPOPS_HOME = home;
  const probes = recordingProbes();
  const { engine, tokens } = recoverEngine({
    home,
    commands: () => sim.runner,
    hosts: () => new Ec2HostDirectory(),
    probes: () => probes,
    instances: () => new Ec2InstanceOperations(),
    databases: () => new RdsRestorer(),
    dumps: () => new S3DumpLocator(),
  });
  const result = await engine.start(
    { target: 'rc-ec2', runbook, reason: 'vitest', ...(params ? { params } : {}) },
    {
      executionName: `rc-ec2-${runbook}`,
      onTaskToken: (task) =>
        tokens.sendTaskSuccess(task.token, { approved: true, by: 'vitest', at: new Date().toISOString() }),
    },
  ).result;
  return { result, probes };
}

describe('recovery faults against AWS', () => {
  it.each<[string, Partial<Parameters<typeof fakeAws>[0]>, string]>([
    ['replace', { launchTemplates: [] }, 'launch template lt-0a1b2c3d4e5f60718 does not exist in eu-west-1'],
    ['replace', { addresses: {} }, `Elastic IP ${ALLOCATION} is not owned by this account in eu-west-1`],
    ['replace-from-ami', {}, 'AMI ami-0000000000000dead does not exist in eu-west-1'],
    ['restore-named', {}, 'snapshot snap-0000000000000dead does not exist in eu-west-1'],
    ['restore-db', { dbs: {} }, 'DB instance rc-db does not exist in eu-west-1'],
  ])('%s with %j fails the pre-flight before anything changes', async (runbook, overrides, message) => {
    // Prepare
    const fake = account(overrides);

    // Act
    const { result } = await run(runbook);

    // Assess
    expect(result.error).toBe('PreflightFailedError');
    expect(result.cause).toContain(message);
    expect(fake.log.filter((c) => MUTATING.includes(c))).toEqual([]);
    const entered = result.trace.events.filter((e) => e.kind === 'state-entered').map((e) => e.state);
    expect(entered).not.toContain('AwaitApproval');
  });

  it.each([
    [
      { snapshot: 'rds:rc-db-2026-01-01-03-00' },
      'is not tagged stepops:target; stepops restores only snapshots it tagged',
    ],
    [
      { snapshot: 'stepops-rc-ec2-19990101-000000' },
      'DB snapshot stepops-rc-ec2-19990101-000000 does not exist',
    ],
  ])('restore-db with %j is refused by the pre-flight', async (params, message) => {
    // Prepare
    const fake = account();

    // Act
    const { result } = await run('restore-db', params);

    // Assess
    expect(result.error).toBe('PreflightFailedError');
    expect(result.cause).toContain(message);
    expect(fake.log.filter((c) => MUTATING.includes(c))).toEqual([]);
  });

  it('restore-db with a named stepops snapshot restores it to a new instance and stops there', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result } = await run('restore-db', { snapshot: 'stepops-rc-ec2-20260102-030000' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(fake.log.filter((c) => MUTATING.includes(c))).toEqual(['RestoreDBInstanceFromDBSnapshot']);
    expect((result.output as { summary: string }).summary).toMatch(
      /restored stepops-rc-ec2-20260102-030000 to the new instance rc-db-r[0-9a-f]{8} at rc-db-r[0-9a-f]{8}\.rds\.example:5432; rc-db is unchanged/,
    );
  });

  it('replace: launches from the launch template; when the new instance never passes its checks, the old one is untouched and the new id is reported', async () => {
    // Prepare
    const fake = account();
    const impaired = fake.instances;
    const originalSet = impaired.set.bind(impaired);
    impaired.set = (id, instance) => originalSet(id, { ...instance, impaired: true });

    // Act
    const { result } = await run('replace');

    // Assess
    expect(result.error).toBe('ReplaceInstanceFailedError');
    const newId = [...fake.instances.keys()].find((id) => id !== OLD) as string;
    expect(result.cause).toContain(`failed after launching the new instance ${newId}`);
    expect(result.cause).toContain(`the old instance ${OLD} is untouched`);
    expect(fake.instances.get(OLD)?.state).toBe('running');
    expect(fake.volumes.get('vol-0data000000000001')?.instanceId).toBe(OLD);
    expect(fake.addresses.get(ALLOCATION)?.instanceId).toBeUndefined();
    expect(fake.log.filter((c) => MUTATING.includes(c))).toEqual(['RunInstances']);
    const launch = fake.ec2.calls().find((c) => c.args[0].constructor.name === 'RunInstancesCommand')
      ?.args[0].input;
    expect(launch).toMatchObject({
      LaunchTemplate: { LaunchTemplateId: 'lt-0a1b2c3d4e5f60718', Version: '3' },
    });
    expect(launch).not.toHaveProperty('ImageId');
  });

  it('reboot: RebootInstances, then waits until the instance was seen down and is back with its agent', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result, probes } = await run('reboot');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(fake.ec2.commandCalls(RebootInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceIds: [OLD] },
    ]);
    const statusCalls = fake.ec2.commandCalls(DescribeInstanceStatusCommand);
    expect(statusCalls.length).toBeGreaterThanOrEqual(2);
    expect(statusCalls[0]?.args[0].input).toEqual({ InstanceIds: [OLD], IncludeAllInstances: true });
    expect(probes.ran).toEqual(['app']);
  });
});
