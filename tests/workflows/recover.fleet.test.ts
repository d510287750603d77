/**
 * Instance replacement on a target of two instances behind an Application Load Balancer, on the
 * local engine against EC2, SSM and ELBv2 mocked at the command level: the run names the instance
 * it replaces (and is refused when it names none or one of another target), the pre-flight refuses a
 * launch that could not take the data volume before anything changes, the new instance is healthy
 * in the target group before the old one leaves it, and the old one ends stopped and out of the
 * target, then terminated after the declared retention.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { Ec2HostDirectory } from '../../shared/drivers/aws/ec2-host-directory.ts';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { ElbLoadBalancer } from '../../shared/drivers/aws/elb-load-balancer.ts';
import { RdsRestorer } from '../../shared/drivers/aws/rds-restorer.ts';
import { S3DumpLocator } from '../../shared/drivers/aws/s3-dump-locator.ts';
import { type FakeAws, type FakeInstance, fakeAws } from './aws-fakes.ts';
import {
  createHostSimulator,
  type HostSimulator,
  recordingProbes,
  recoverEngine,
} from './recover.fixtures.ts';

const WEB1 = 'i-0a1b2c3d4e5f60001';
const WEB2 = 'i-0a1b2c3d4e5f60002';
const STRANGER = 'i-0ffffffffffff0009';
const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const ALLOCATION = 'eipalloc-0a1b2c3d4e5f60718';
const TEMPLATE = 'lt-0a1b2c3d4e5f60718';
const IMAGE = 'ami-0fedcba9876543210';
/** Calls that change something in the account. */
const MUTATING = [
  'RebootInstances',
  'StopInstances',
  'StartInstances',
  'TerminateInstances',
  'CreateVolume',
  'DetachVolume',
  'AttachVolume',
  'RunInstances',
  'AssociateAddress',
  'CreateTags',
  'DeleteTags',
  'RegisterTargets',
  'DeregisterTargets',
];

let sim: HostSimulator;
let home: string | undefined;
let aws: FakeAws | undefined;

beforeAll(async () => {
  sim = await createHostSimulator();
  const replace = {
    type: 'replace-instance' as const,
    name: 'replace-instance',
    elasticIpAllocationId: ALLOCATION,
    retainOldFor: 86_400,
    timeout: 600,
  };
  const target: TargetInput = {
    name: 'rc-fleet',
    description: 'two instances behind an ALB',
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'fleet' },
      user: 'root',
      workingDirectory: '/opt/app',
    },
    deploy: {
      steps: [{ name: 'build', script: 'true', timeout: 60 }],
      rollback: [{ name: 'back', script: 'true', timeout: 60 }],
      healthGate: { probes: ['app'], timeout: 30, interval: 5, successes: 1 },
      loadBalancer: { targetGroups: [GROUP] },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'app', type: 'command', script: 'true', timeout: 10 }],
    },
    recovery: {
      replace: { description: 'replace one instance from the newest AMI', steps: [replace] },
      'replace-with-data': {
        description: 'replace from the launch template, moving the data volume',
        steps: [{ ...replace, launchTemplate: { id: TEMPLATE, version: '3' }, dataVolumeDevice: '/dev/sdf' }],
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

function account(overrides: Partial<Parameters<typeof fakeAws>[0]> = {}): FakeAws {
  const web = (id: string, n: number) => ({
    id,
    state: 'running',
    tags: { App: 'fleet', Name: `web-${n}`, 'stepops:target': 'rc-fleet' },
    az: 'eu-west-1a',
    volumes: [
      { device: '/dev/xvda', volumeId: `vol-0root00000000000${n}` },
      { device: '/dev/sdf', volumeId: `vol-0data00000000000${n}` },
    ],
  });
  aws = fakeAws({
    instances: [
      web(WEB1, 1),
      web(WEB2, 2),
      { id: STRANGER, state: 'running', tags: { App: 'other' }, az: 'eu-west-1a', volumes: [] },
    ],
    images: [{ id: IMAGE, target: 'rc-fleet' }],
    launchTemplates: [{ id: TEMPLATE, imageId: IMAGE }],
    subnets: { 'subnet-0bbbbbbbbbbbbbbb1': 'eu-west-1b' },
    addresses: { [ALLOCATION]: '203.0.113.7' },
    targetGroups: { [GROUP]: [WEB1, WEB2] },
    ...overrides,
  });
  return aws;
}

/**
 * Runs a runbook to its end (the retention wait skipped) and returns the instances as they were when
 * the run started waiting out the retention, before the old one was terminated.
 */
async function run(runbook: string, extra: Record<string, unknown> = {}) {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-rc-fleet-'));
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
    loadBalancer: () => new ElbLoadBalancer(),
  });
  let retained: Map<string, FakeInstance> | undefined;
  const result = await engine.start(
    { target: 'rc-fleet', runbook, reason: 'vitest', ...extra },
    {
      executionName: `rc-fleet-${runbook}`,
      waitTimeOverrides: { WaitRetention: 0 },
      onEvent: (event) => {
        if (event.kind === 'state-entered' && event.state === 'WaitRetention' && aws)
          retained = new Map([...aws.instances].map(([id, i]) => [id, structuredClone(i)]));
      },
      onTaskToken: (task) =>
        tokens.sendTaskSuccess(task.token, { approved: true, by: 'vitest', at: new Date().toISOString() }),
    },
  ).result;
  return { result, retained };
}

const mutations = (fake: FakeAws) => fake.log.filter((c) => MUTATING.includes(c));

describe('replace one instance of a fleet behind a load balancer', () => {
  it('replaces the named instance: the new one healthy in the target group before the old one leaves, the old one stopped and out of the target', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result, retained } = await run('replace', { instance: WEB2 });

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    const newId = [...fake.instances.keys()].find((id) => id.startsWith('i-0new')) as string;
    expect(newId).toBeDefined();
    const registered = fake.log.indexOf('RegisterTargets');
    const deregistered = fake.log.indexOf('DeregisterTargets');
    expect(registered).toBeGreaterThan(fake.log.indexOf('RunInstances'));
    // Healthy (a DescribeTargetHealth answered `healthy`) before the old one is deregistered.
    expect(deregistered).toBeGreaterThan(registered);
    expect(fake.targetGroups.get(GROUP)?.get(newId)).toBe('healthy');
    expect(fake.targetGroups.get(GROUP)?.has(WEB2)).toBe(false);
    expect(fake.targetGroups.get(GROUP)?.get(WEB1)).toBe('healthy');
    // The right instance replaced (stopped during the retention); the other one untouched.
    expect(retained?.get(WEB2)?.state).toBe('stopped');
    expect(fake.instances.get(WEB1)?.state).toBe('running');
    expect(fake.instances.get(WEB1)?.tags).toEqual({
      App: 'fleet',
      Name: 'web-1',
      'stepops:target': 'rc-fleet',
    });
    // The old one keeps only what says it was replaced: no selector tag, no stepops:target.
    const old = retained?.get(WEB2)?.tags ?? {};
    expect(old).not.toHaveProperty('App');
    expect(old).not.toHaveProperty('stepops:target');
    expect(old['stepops:replaced-by-run']).toBe('rc-fleet-replace');
    expect(Date.parse(old['stepops:terminate-after'] ?? '')).toBeGreaterThan(Date.now() + 86_000_000);
    // The new one is selected as the old one was.
    expect(fake.instances.get(newId)?.tags).toMatchObject({
      App: 'fleet',
      Name: 'web-2',
      'stepops:target': 'rc-fleet',
    });
    expect(fake.instances.get(newId)?.tags).not.toHaveProperty('stepops:replaced-by-run');
    const selected = await new Ec2InstanceOperations().find({
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'fleet' },
    });
    expect(selected.map((i) => i.id).sort()).toEqual([WEB1, newId].sort());
    // After the retention, the run terminated it, and only it.
    expect(fake.instances.get(WEB2)?.state).toBe('terminated');
    expect(fake.log.filter((c) => c === 'TerminateInstances')).toHaveLength(1);
    expect(fake.instances.get(newId)?.state).toBe('running');
    expect(fake.addresses.get(ALLOCATION)?.instanceId).toBe(newId);
    expect(fake.instances.get(STRANGER)?.state).toBe('running');
  });

  it('refuses a run that names no instance on a target of two, before anything changes', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result } = await run('replace');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    expect(result.cause).toContain(
      `target "rc-fleet" has 2: name one with "instance" (--instance): ${WEB1}, ${WEB2}`,
    );
    expect(mutations(fake)).toEqual([]);
  });

  it('refuses an instance that is not one of the target’s, before anything changes', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result } = await run('replace', { instance: STRANGER });

    // Assess
    expect(result.error).toBe('InvalidInputError');
    expect(result.cause).toContain(
      `instance: ${STRANGER} is not an instance of target "rc-fleet" (instances: ${WEB1}, ${WEB2})`,
    );
    expect(mutations(fake)).toEqual([]);
    expect(fake.instances.get(STRANGER)?.state).toBe('running');
  });

  it.each([
    [
      'a launch template whose network interface is in another zone than the data volume',
      { launchTemplates: [{ id: TEMPLATE, imageId: IMAGE, subnet: 'subnet-0bbbbbbbbbbbbbbb1' }] },
      'launches in subnet subnet-0bbbbbbbbbbbbbbb1 (eu-west-1b), the data volume vol-0data000000000002 is in eu-west-1a',
    ],
    [
      'a launch template placed in another zone',
      { launchTemplates: [{ id: TEMPLATE, imageId: IMAGE, availabilityZone: 'eu-west-1b' }] },
      `launch template ${TEMPLATE} places instances in eu-west-1b, the data volume vol-0data000000000002 is in eu-west-1a`,
    ],
    [
      'a launch template that maps the data device',
      { launchTemplates: [{ id: TEMPLATE, imageId: IMAGE, devices: ['/dev/xvda', '/dev/sdf'] }] },
      `launch template ${TEMPLATE} version 3 maps /dev/sdf itself`,
    ],
    [
      'an AMI whose block devices map the data device',
      { imageDevices: { [IMAGE]: ['/dev/xvda', '/dev/sdf'] } },
      `AMI ${IMAGE} maps /dev/sdf in its block devices`,
    ],
    [
      'a launch template without an AMI that exists',
      { images: [] },
      `AMI ${IMAGE} of launch template ${TEMPLATE} does not exist in eu-west-1`,
    ],
  ])('pre-flight refuses %s: nothing is stopped, detached or launched', async (_what, overrides, message) => {
    // Prepare
    const fake = account(overrides);

    // Act
    const { result } = await run('replace-with-data', { instance: WEB2 });

    // Assess
    expect(result.error).toBe('PreflightFailedError');
    expect(result.cause).toContain(message);
    expect(mutations(fake)).toEqual([]);
    expect(fake.instances.get(WEB2)?.state).toBe('running');
    expect(fake.volumes.get('vol-0data000000000002')?.instanceId).toBe(WEB2);
  });

  it('with a data volume: launches in the old instance’s subnet with the template, drains and stops the old one before moving the volume, then registers the new one', async () => {
    // Prepare
    const fake = account();

    // Act
    const { result } = await run('replace-with-data', { instance: WEB2 });

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    const launch = fake.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(launch).toMatchObject({
      LaunchTemplate: { LaunchTemplateId: TEMPLATE, Version: '3' },
      SubnetId: 'subnet-0123456789abcdef0',
    });
    const order = fake.log.filter((c) =>
      [
        'RunInstances',
        'DeregisterTargets',
        'StopInstances',
        'DetachVolume',
        'AttachVolume',
        'RegisterTargets',
      ].includes(c),
    );
    expect(order).toEqual([
      'RunInstances',
      'DeregisterTargets',
      'StopInstances',
      'DetachVolume',
      'AttachVolume',
      'RegisterTargets',
    ]);
    const newId = [...fake.instances.keys()].find((id) => id.startsWith('i-0new')) as string;
    expect(fake.volumes.get('vol-0data000000000002')?.instanceId).toBe(newId);
    expect(fake.targetGroups.get(GROUP)?.get(newId)).toBe('healthy');
    expect(fake.instances.get(WEB2)?.tags).not.toHaveProperty('stepops:target');
    expect(fake.instances.get(WEB2)?.state).toBe('terminated');
  });

  it('waits out NotFound answers about the instance it just launched instead of failing', async () => {
    // Prepare
    const fake = account({ notFoundReads: 2 });

    // Act
    const { result, retained } = await run('replace', { instance: WEB1 });

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    expect(fake.log.filter((c) => c === 'RunInstances')).toHaveLength(1);
    expect(retained?.get(WEB1)?.state).toBe('stopped');
  });
});
