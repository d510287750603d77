/**
 * The load balancer port: the ELBv2 adapter on exact command inputs (aws-sdk-client-mock), the
 * local membership file for real, and the drain and register steps' long-poll on both.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import { INITIAL_TARGETS_WAIT, type TargetsWait } from '../../../shared/deploy/contracts.ts';
import { type DeployDeps, defaultDeployDeps } from '../../../shared/deploy/deps.ts';
import { drainTargetsStep, registerTargetsStep } from '../../../shared/deploy/load-balancer.ts';
import { ElbLoadBalancer } from '../../../shared/drivers/aws/elb-load-balancer.ts';
import { LocalLoadBalancer } from '../../../shared/drivers/local/local-load-balancer.ts';
import type { HostRef, LoadBalancer } from '../../../shared/drivers/ports.ts';

const elb = mockClient(ElasticLoadBalancingV2Client);
const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const OTHER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/fedcba9876543210';
const ec2Hosts: HostRef[] = [
  { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' },
  { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa2', region: 'eu-west-1' },
];
const localHosts: HostRef[] = [
  { kind: 'local', id: 'local:web-1', directory: '/tmp/web-1' },
  { kind: 'local', id: 'local:web-2', directory: '/tmp/web-2' },
];

let home: string;
beforeEach(async () => {
  elb.reset();
  home = await mkdtemp(path.join(tmpdir(), 'stepops-lb-'));
});
afterEach(async () => {
  clearRegisteredTargets();
  await rm(home, { recursive: true, force: true });
});

describe('ElbLoadBalancer', () => {
  it('deregisters and registers the instances of the batch in the target group, by instance id', async () => {
    // Prepare
    elb.on(DeregisterTargetsCommand).resolves({});
    elb.on(RegisterTargetsCommand).resolves({});
    const lb = new ElbLoadBalancer();

    // Act
    await lb.deregister(GROUP, ec2Hosts);
    await lb.register(GROUP, ec2Hosts);

    // Assess
    const targets = [{ Id: 'i-0aaaaaaaaaaaaaaa1' }, { Id: 'i-0aaaaaaaaaaaaaaa2' }];
    expect(elb.commandCalls(DeregisterTargetsCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: GROUP, Targets: targets },
    ]);
    expect(elb.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: GROUP, Targets: targets },
    ]);
  });

  it("reads each host's state with DescribeTargetHealth, unregistered hosts as unused", async () => {
    // Prepare: ELBv2 describes every target asked about, registered or not
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        {
          Target: { Id: 'i-0aaaaaaaaaaaaaaa2', Port: 80 },
          TargetHealth: {
            State: 'unused',
            Reason: 'Target.NotRegistered',
            Description: 'Target is not registered',
          },
        },
        {
          Target: { Id: 'i-0aaaaaaaaaaaaaaa1', Port: 80 },
          TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress' },
        },
      ],
    });

    // Act
    const health = await new ElbLoadBalancer().health(GROUP, ec2Hosts);

    // Assess
    expect(elb.commandCalls(DescribeTargetHealthCommand)[0]?.args[0].input).toEqual({
      TargetGroupArn: GROUP,
      Targets: [{ Id: 'i-0aaaaaaaaaaaaaaa1' }, { Id: 'i-0aaaaaaaaaaaaaaa2' }],
    });
    expect(health).toEqual([
      {
        targetGroup: GROUP,
        hostId: 'i-0aaaaaaaaaaaaaaa1',
        state: 'draining',
        reason: 'Target.DeregistrationInProgress',
      },
      {
        targetGroup: GROUP,
        hostId: 'i-0aaaaaaaaaaaaaaa2',
        state: 'unused',
        reason: 'Target.NotRegistered',
        description: 'Target is not registered',
      },
    ]);
  });

  it('uses the client of the target group region and refuses local hosts', async () => {
    // Prepare
    const regions: string[] = [];
    const lb = new ElbLoadBalancer({
      client: (region) => {
        regions.push(region);
        return new ElasticLoadBalancingV2Client({ region });
      },
    });
    elb.on(DeregisterTargetsCommand).resolves({});

    // Act
    await lb.deregister(GROUP.replace('eu-west-1', 'us-east-1'), ec2Hosts);
    const local = lb.deregister(GROUP, localHosts);

    // Assess
    expect(regions).toEqual(['us-east-1']);
    await expect(local).rejects.toThrow('ELBv2 target groups take ec2 instances, not local host local:web-1');
  });

  it('passes on ELBv2 errors such as an unknown target group', async () => {
    // Prepare
    elb
      .on(DeregisterTargetsCommand)
      .rejects(
        new TargetGroupNotFoundException({ message: 'One or more target groups not found', $metadata: {} }),
      );

    // Act
    const act = new ElbLoadBalancer().deregister(GROUP, ec2Hosts);

    // Assess
    await expect(act).rejects.toMatchObject({ name: 'TargetGroupNotFoundException' });
  });
});

describe('LocalLoadBalancer', () => {
  it('records membership in a file: registered hosts turn healthy, deregistered ones drain, then are unused', async () => {
    // Prepare
    let now = 1_000;
    const lb = new LocalLoadBalancer({ home: () => home, drainMs: 500, healthyAfterMs: 200, now: () => now });

    // Act
    const before = await lb.health(GROUP, localHosts);
    await lb.register(GROUP, localHosts);
    const registering = await lb.health(GROUP, localHosts);
    now += 200;
    const registered = await lb.health(GROUP, localHosts);
    await lb.deregister(GROUP, [localHosts[0]!]);
    const draining = await lb.health(GROUP, localHosts);
    now += 500;
    const drained = await lb.health(GROUP, localHosts);

    // Assess
    expect(before.map((h) => h.state)).toEqual(['unused', 'unused']);
    expect(registering.map((h) => h.state)).toEqual(['initial', 'initial']);
    expect(registered.map((h) => h.state)).toEqual(['healthy', 'healthy']);
    expect(draining.map((h) => [h.state, h.reason])).toEqual([
      ['draining', 'Target.DeregistrationInProgress'],
      ['healthy', undefined],
    ]);
    expect(drained.map((h) => [h.state, h.reason])).toEqual([
      ['unused', 'Target.NotRegistered'],
      ['healthy', undefined],
    ]);
    const file = JSON.parse(await readFile(path.join(home, 'load-balancer.json'), 'utf8'));
    expect(Object.keys(file[GROUP])).toEqual(['local:web-1', 'local:web-2']);
  });

  it('leaves hosts that were not registered out of the group when they are deregistered', async () => {
    // Prepare
    const lb = new LocalLoadBalancer({ home: () => home, drainMs: 10_000 });

    // Act
    await lb.deregister(OTHER, localHosts);

    // Assess
    expect((await lb.health(OTHER, localHosts)).map((h) => h.state)).toEqual(['unused', 'unused']);
  });
});

describe('drain-targets and register-targets', () => {
  /** Deps on a fake clock whose sleep advances it, with the given load balancer. */
  function depsWith(loadBalancer: LoadBalancer, clock: { now: number }): DeployDeps {
    const real = defaultDeployDeps();
    return {
      ...real,
      now: () => clock.now,
      sleep: async (ms) => {
        clock.now += ms;
      },
      driversFor: (target) => ({ ...real.driversFor(target), loadBalancer }),
    };
  }

  function registerWeb(drainTimeout: number, healthyTimeout = 60): void {
    registerTarget({
      name: 'lb-web',
      description: 'two local hosts behind two target groups',
      hosts: { type: 'local', directory: ['web-1', 'web-2'] },
      deploy: {
        steps: [{ name: 'up', script: 'true', timeout: 5 }],
        rollback: [{ name: 'down', script: 'true', timeout: 5 }],
        healthGate: { probes: ['up'], timeout: 30 },
        loadBalancer: { targetGroups: [GROUP, OTHER], drainTimeout, healthyTimeout },
      },
      health: { schedule: 'rate(1 minute)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
    });
  }

  it('deregisters once, then waits across calls until the hosts have drained from every group', async () => {
    // Prepare: the hosts serve in both groups; draining takes 70 s (longer than one 50 s long-poll)
    registerWeb(300);
    const clock = { now: 0 };
    const lb = new LocalLoadBalancer({ home: () => home, drainMs: 70_000, now: () => clock.now });
    await lb.register(GROUP, localHosts);
    await lb.register(OTHER, localHosts);
    const deps = depsWith(lb, clock);
    const remaining = () => 80_000;

    // Act
    const first = await drainTargetsStep(
      { target: 'lb-web', hosts: localHosts, wait: INITIAL_TARGETS_WAIT },
      deps,
      remaining,
    );
    const second = await drainTargetsStep(
      { target: 'lb-web', hosts: localHosts, wait: first },
      deps,
      remaining,
    );

    // Assess
    expect(first).toMatchObject({ status: 'waiting', pendingCount: 4 });
    expect(first.pending?.[0]).toEqual({
      targetGroup: GROUP,
      hostId: 'local:web-1',
      state: 'draining',
      reason: 'Target.DeregistrationInProgress',
    });
    expect(second.status).toBe('done');
    expect(second.rounds).toBeGreaterThan(first.rounds);
    expect(second.deadline).toBe(first.deadline);
    expect((await lb.health(GROUP, localHosts)).map((h) => h.state)).toEqual(['unused', 'unused']);
  });

  it('times out when the hosts do not drain within the drain timeout', async () => {
    // Prepare
    registerWeb(5);
    const clock = { now: 0 };
    const lb = new LocalLoadBalancer({ home: () => home, drainMs: 600_000, now: () => clock.now });
    await lb.register(GROUP, localHosts);

    // Act
    const wait: TargetsWait = await drainTargetsStep(
      { target: 'lb-web', hosts: localHosts, wait: INITIAL_TARGETS_WAIT },
      depsWith(lb, clock),
      () => 80_000,
    );

    // Assess
    expect(wait.status).toBe('timed-out');
    expect(wait.deadline).toBe(new Date(5_000).toISOString());
  });

  it('registers the hosts again and waits until they are healthy in every group', async () => {
    // Prepare
    registerWeb(300);
    const clock = { now: 0 };
    const lb = new LocalLoadBalancer({ home: () => home, healthyAfterMs: 3_000, now: () => clock.now });

    // Act
    const wait = await registerTargetsStep(
      { target: 'lb-web', hosts: localHosts, wait: INITIAL_TARGETS_WAIT },
      depsWith(lb, clock),
      () => 80_000,
    );

    // Assess
    expect(wait).toMatchObject({ status: 'done', rounds: 4 });
    expect((await lb.health(OTHER, localHosts)).map((h) => h.state)).toEqual(['healthy', 'healthy']);
  });
});
