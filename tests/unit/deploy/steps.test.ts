import { afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import type { Target } from '../../../shared/config/schema.ts';
import {
  assumedBatches,
  batchLeaseSeconds,
  COMMAND_DELIVERY_MARGIN_SECONDS,
  deployRunBoundSeconds,
  MAX_LEASE_SECONDS,
  runBoundSeconds,
} from '../../../shared/deploy/bounds.ts';
import type { CommandSent, GateState } from '../../../shared/deploy/contracts.ts';
import { INITIAL_GATE } from '../../../shared/deploy/contracts.ts';
import type { DeployDeps } from '../../../shared/deploy/deps.ts';
import { planDeploy } from '../../../shared/deploy/plan.ts';
import { checkHealthStep } from '../../../shared/deploy/steps/check-health.ts';
import { claimHostsStep } from '../../../shared/deploy/steps/claim-hosts.ts';
import { LONG_POLL_MAX_MS } from '../../../shared/deploy/steps/common.ts';
import { notifyStep, releaseAndNotifyStep } from '../../../shared/deploy/steps/notify.ts';
import { leaseTtlSeconds, planDeployStep } from '../../../shared/deploy/steps/plan-deploy.ts';
import { pollCommandStep } from '../../../shared/deploy/steps/poll-command.ts';
import { resolveHostsStep } from '../../../shared/deploy/steps/resolve-hosts.ts';
import { commandKey, sendCommandStep } from '../../../shared/deploy/steps/send-command.ts';
import type { Drivers } from '../../../shared/drivers/index.ts';
import type {
  CommandRequest,
  InvocationResult,
  Lease,
  LeaseStore,
  Notification,
  ProbeResult,
} from '../../../shared/drivers/ports.ts';

const HOST = { kind: 'local' as const, id: 'local:/tmp/h1', directory: '/tmp/h1' };
const HOST2 = { kind: 'local' as const, id: 'local:/tmp/h2', directory: '/tmp/h2' };

function registerFixture(name = 'unit-target'): Target {
  registerTarget({
    name,
    description: 'unit test target',
    hosts: { type: 'local', directory: '/tmp/unit-host' },
    deploy: {
      steps: [{ name: 'build', script: 'make build', timeout: 60 }],
      rollback: [{ name: 'restore', script: 'make restore', timeout: 30 }],
      batches: { size: '50%', maxErrors: 1 },
      healthGate: { probes: ['app'], timeout: 30, interval: 5, successes: 2 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'app', type: 'http', url: 'http://127.0.0.1:1/health' }],
    },
  });
  return findTarget(name);
}

/** A clock that only moves when someone sleeps. */
function fakeDeps(
  drivers: Partial<Drivers>,
  notifier?: Notification[],
): DeployDeps & { clock: { t: number } } {
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  return {
    clock,
    findTarget,
    driversFor: () => drivers as Drivers,
    fallbackNotifier: () => ({ publish: async (n) => void notifier?.push(n) }),
    now: () => clock.t,
    sleep: async (ms) => {
      clock.t += ms;
    },
  };
}

afterEach(() => clearRegisteredTargets());

/** The execution ARN of the run `run-1`, as its lease names it. */
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:run-1';

/**
 * A lease store in memory, holding `target:unit-target` for `owner` (with its execution) unless
 * told otherwise. A take replaces the lease whole, as the real stores do.
 */
function memoryLeases(owner: string | null = 'run-1'): LeaseStore & { leases: Map<string, Lease> } {
  const leases = new Map<string, Lease>();
  if (owner) {
    const execution = EXECUTION.replace(/run-1$/, owner);
    leases.set('target:unit-target', { key: 'target:unit-target', owner, expiresAt: 2e9, execution });
  }
  return {
    leases,
    async acquire(key, who, ttl, { execution, maintenance } = {}) {
      const current = leases.get(key);
      if (current && current.owner !== who) return { acquired: false, heldBy: current };
      leases.set(key, {
        key,
        owner: who,
        expiresAt: Date.parse('2026-01-01T00:00:00Z') / 1000 + ttl,
        ...(execution ? { execution } : {}),
        ...(maintenance ? { maintenance } : {}),
      });
      return { acquired: true };
    },
    async release(key, who) {
      if (leases.get(key)?.owner === who) leases.delete(key);
    },
    async holder(key) {
      return leases.get(key);
    },
  };
}

describe('planDeployStep', () => {
  it('plans a valid request without putting scripts in the state', () => {
    registerFixture();
    const plan = planDeployStep(
      { input: { target: 'unit-target', ref: 'release/v2', reason: 'r' }, runId: 'run-1' },
      fakeDeps({}),
    );
    expect(plan).toMatchObject({
      target: 'unit-target',
      ref: 'release/v2',
      runId: 'run-1',
      reason: 'r',
      batchSize: '50%',
      maxErrors: 1,
      snapshot: { enabled: false, ebs: false },
      healthGate: { probes: ['app'], timeoutSeconds: 30, intervalSeconds: 5, successes: 2 },
    });
    expect(JSON.stringify(plan)).not.toContain('make build');
  });

  it.each([
    [{ target: 'unit-target', ref: '$(reboot)' }, /is not a valid ref/],
    [{ target: 'unit-target', ref: '-x' }, /is not a valid ref/],
    [{ target: 'unit-target', ref: 'v1', extra: true }, /invalid deploy request: .*extra/],
    [{ target: 'Bad Name', ref: 'v1' }, /invalid deploy request: target/],
    [{ ref: 'v1' }, /invalid deploy request: target/],
    ['just a string', /invalid deploy request/],
  ])('rejects %j with InvalidInputError', (input, message) => {
    registerFixture();
    const act = () => planDeployStep({ input, runId: 'run-1' }, fakeDeps({}));
    expect(act).toThrow(message);
    try {
      act();
    } catch (error) {
      expect((error as Error).name).toBe('InvalidInputError');
    }
  });

  it('names an unknown target', () => {
    expect(() => planDeployStep({ input: { target: 'nope', ref: 'v1' }, runId: 'r' }, fakeDeps({}))).toThrow(
      expect.objectContaining({ name: 'UnknownTargetError' }),
    );
  });
});

describe('leaseTtlSeconds', () => {
  it('covers every batch and a rollback, within the cap', () => {
    const plan = planDeploy(registerFixture(), 'v1', 'r');
    // 50% → 2 batches × (90 deploy + 30 gate) + (60 rollback + 30 gate) + 600 margin
    expect(leaseTtlSeconds(plan)).toBe(2 * 120 + 90 + 600);
    expect(leaseTtlSeconds({ ...plan, deployTimeoutSeconds: 100_000 })).toBe(MAX_LEASE_SECONDS);
  });
});

describe('run bounds', () => {
  it('bounds a run by every batch to its command deadline and gate, a rollback, and the states around', () => {
    // Prepare
    const plan = planDeploy(registerFixture(), 'v1', 'r');

    // Act
    const one = runBoundSeconds(plan, 1);
    const three = runBoundSeconds(plan, 3);

    // Assess: a batch is 90 s of script + 660 delivery + 180 slack, and a 30 s gate + 180 slack.
    expect(three - one).toBe(2 * (90 + COMMAND_DELIVERY_MARGIN_SECONDS + 180 + 30 + 180));
    expect(assumedBatches(plan)).toBe(2);
    expect(deployRunBoundSeconds(findTarget('unit-target'))).toBe(runBoundSeconds(plan, 2));
    expect(assumedBatches({ batchSize: 2 }, 5)).toBe(3);
    expect(assumedBatches({ batchSize: 2 })).toBe(20);
  });

  it("counts the verify command and each batch's load balancer waits, in the run bound and the lease", () => {
    // Prepare
    const plan = planDeploy(registerFixture(), 'v1', 'r');
    const behindLb = {
      ...plan,
      verifyTimeoutSeconds: 60,
      loadBalancer: { targetGroups: ['tg'], drainTimeoutSeconds: 300, healthyTimeoutSeconds: 200 },
    };

    // Act
    const extra = runBoundSeconds(behindLb, 3) - runBoundSeconds(plan, 3);

    // Assess: the verify command to its deadline; 3 batches and a rollback each drain and register
    expect(extra).toBe(60 + COMMAND_DELIVERY_MARGIN_SECONDS + 180 + 4 * (300 + 200 + 2 * 180));
    expect(batchLeaseSeconds(behindLb) - batchLeaseSeconds(plan)).toBe(2 * (300 + 200 + 2 * 180));
  });

  it('refuses at resolve-hosts a fleet whose batches could outlast the workflow timeout, before any command', async () => {
    // Prepare
    const target = registerFixture();
    const hosts = Array.from({ length: 4 }, (_, i) => ({ ...HOST, id: `local:/tmp/h${i}` }));
    const deps = fakeDeps({ hosts: { resolve: async () => hosts } });
    const plan = planDeploy(target, 'HEAD', 'r1');

    // Act
    const refused = resolveHostsStep(
      { target: 'unit-target', runId: 'r1', batchSize: 1, runTimeoutSeconds: runBoundSeconds(plan, 3) },
      deps,
    );
    const allowed = await resolveHostsStep(
      { target: 'unit-target', runId: 'r1', batchSize: 1, runTimeoutSeconds: runBoundSeconds(plan, 4) },
      deps,
    );

    // Assess
    await expect(refused).rejects.toMatchObject({ name: 'RunTooLongError' });
    await expect(refused).rejects.toThrow(
      /4 hosts in 4 batches may take up to \d+ s, longer than the workflow's timeout/,
    );
    expect(allowed.batchCount).toBe(4);
  });
});

describe('claimHostsStep', () => {
  it("takes the lease naming the run's execution, then resolves the hosts, and answers both", async () => {
    // Prepare: the directory notes who held the lease when it was asked for the hosts
    registerFixture();
    const leases = memoryLeases(null);
    const heldWhenResolving: (Lease | undefined)[] = [];
    const deps = fakeDeps({
      leases,
      hosts: {
        resolve: async () => {
          heldWhenResolving.push(leases.leases.get('target:unit-target'));
          return [HOST, HOST2];
        },
      },
    });

    // Act
    const claimed = await claimHostsStep(
      { target: 'unit-target', runId: 'run-1', ttlSeconds: 900, execution: EXECUTION, batchSize: 1 },
      deps,
    );

    // Assess: health asks whether that execution runs before the lease mutes anything
    expect(heldWhenResolving).toEqual([
      {
        key: 'target:unit-target',
        owner: 'run-1',
        expiresAt: Date.parse('2026-01-01T00:00:00Z') / 1000 + 900,
        execution: EXECUTION,
      },
    ]);
    expect(claimed).toEqual({
      hosts: [HOST, HOST2],
      batches: [
        { index: 0, hosts: [HOST], offset: 0, hostCount: 2 },
        { index: 1, hosts: [HOST2], offset: 1, hostCount: 2 },
      ],
      batchCount: 2,
      lock: {
        key: 'target:unit-target',
        owner: 'run-1',
        expiresAt: Date.parse('2026-01-01T00:00:00Z') / 1000 + 900,
      },
    });
  });

  it('resolves nothing when another run holds the lease (TargetLockedError)', async () => {
    // Prepare
    registerFixture();
    let resolved = 0;
    const deps = fakeDeps({
      leases: memoryLeases('run-0'),
      hosts: {
        resolve: async () => {
          resolved += 1;
          return [HOST];
        },
      },
    });

    // Act
    const claim = claimHostsStep(
      { target: 'unit-target', runId: 'run-1', ttlSeconds: 900, batchSize: 1 },
      deps,
    );

    // Assess
    await expect(claim).rejects.toMatchObject({ name: 'TargetLockedError' });
    expect(resolved).toBe(0);
  });

  it('keeps the lease taken when resolving fails: the workflow releases it at Notify', async () => {
    // Prepare
    registerFixture();
    const leases = memoryLeases(null);
    const deps = fakeDeps({ leases, hosts: { resolve: async () => [] } });

    // Act
    const claim = claimHostsStep(
      { target: 'unit-target', runId: 'run-1', ttlSeconds: 900, batchSize: 1 },
      deps,
    );

    // Assess
    await expect(claim).rejects.toMatchObject({ name: 'NoHostsError' });
    expect(leases.leases.get('target:unit-target')?.owner).toBe('run-1');
  });
});

describe('sendCommandStep', () => {
  it('sends the script rendered from the target file, not anything from its input', async () => {
    registerFixture();
    const sent: CommandRequest[] = [];
    const deps = fakeDeps({
      leases: memoryLeases(),
      commands: {
        send: async (request) => {
          sent.push(request);
          return { commandId: 'c-1', hosts: request.hosts };
        },
        status: async () => [],
      },
    });
    const result = await sendCommandStep(
      {
        target: 'unit-target',
        ref: 'v2',
        runId: 'run-1',
        phase: 'rollback',
        hosts: [HOST, HOST2],
        batchIndex: 1,
      },
      deps,
    );
    expect(result).toMatchObject({ commandId: 'c-1', phase: 'rollback', hosts: [HOST, HOST2] });
    expect(sent[0]?.script).toContain('make restore');
    expect(sent[0]?.script).not.toContain('make build');
    expect(sent[0]).toMatchObject({ timeoutSeconds: 60, maxConcurrency: '2', maxErrors: '0' });
    expect(sent[0]?.comment).toBe('stepops rollback unit-target v2 batch 2 run run-1');
  });
});

describe('sendCommandStep and the lease', () => {
  const input = {
    target: 'unit-target',
    ref: 'v2',
    runId: 'run-1',
    phase: 'deploy' as const,
    hosts: [HOST],
    batchIndex: 0,
    startedAt: '2025-12-31T23:59:00.000Z',
  };
  function sender() {
    const sent: CommandRequest[] = [];
    return {
      sent,
      runner: {
        send: async (request: CommandRequest) => {
          sent.push(request);
          return { commandId: 'c-1', hosts: request.hosts };
        },
        status: async () => [],
      },
    };
  }

  it.each([
    ['another run holds it', 'run-2', /run run-2 holds it/],
    ['it expired or was released', null, /expired or was released/],
  ])('refuses to send when %s, with LeaseLostError', async (_why, owner, message) => {
    // Prepare
    registerFixture();
    const { sent, runner } = sender();
    const deps = fakeDeps({ leases: memoryLeases(owner), commands: runner });

    // Act
    const act = sendCommandStep(input, deps);

    // Assess
    await expect(act).rejects.toThrow(message);
    await expect(act).rejects.toMatchObject({ name: 'LeaseLostError' });
    expect(sent).toHaveLength(0);
  });

  it('renews the lease for the batch and a rollback, and gives the command its deadline', async () => {
    // Prepare
    const target = registerFixture();
    const leases = memoryLeases();
    const { sent, runner } = sender();
    const deps = fakeDeps({ leases, commands: runner });

    // Act
    const result = await sendCommandStep(input, deps);

    // Assess
    const plan = planDeploy(target, 'v2', 'run-1');
    const now = deps.clock.t / 1000;
    // Renewed whole, still naming the run's execution (health asks about it)
    expect(leases.leases.get('target:unit-target')).toStrictEqual({
      key: 'target:unit-target',
      owner: 'run-1',
      expiresAt: now + batchLeaseSeconds(plan),
      execution: EXECUTION,
    });
    // deploy 60 + 30 margin = 90 s of script, then the delivery margin.
    expect(Date.parse(result.deadline) - deps.clock.t).toBe((90 + COMMAND_DELIVERY_MARGIN_SECONDS) * 1000);
    expect(sent[0]?.idempotency).toEqual({ key: 'run-1/deploy/0', since: input.startedAt });
  });

  it('keys each command by run, phase and batch', () => {
    expect(commandKey({ runId: 'r', phase: 'deploy', batchIndex: 2 })).toBe('r/deploy/2');
    expect(commandKey({ runId: 'r', phase: 'rollback' })).toBe('r/rollback/all');
  });
});

describe('pollCommandStep', () => {
  const command: CommandSent = {
    commandId: 'c-1',
    phase: 'deploy',
    hosts: [HOST, HOST2],
    sentAt: '2026-01-01T00:00:00.000Z',
    deadline: '2026-01-01T01:00:00.000Z',
  };

  function runner(sequence: InvocationResult[][]) {
    let i = 0;
    return {
      send: async () => ({ commandId: 'x', hosts: [] }),
      status: async () => sequence[Math.min(i++, sequence.length - 1)] ?? [],
    };
  }
  const running: InvocationResult[] = [
    { hostId: HOST.id, state: 'running', outputTail: '' },
    { hostId: HOST2.id, state: 'pending', outputTail: '' },
  ];

  it('waits inside one invocation until every host has finished', async () => {
    registerFixture();
    const deps = fakeDeps({
      commands: runner([
        running,
        running,
        [
          { hostId: HOST.id, state: 'succeeded', exitCode: 0, outputTail: 'ok' },
          { hostId: HOST2.id, state: 'succeeded', exitCode: 0, outputTail: 'ok' },
        ],
      ]),
    });
    const status = await pollCommandStep(
      { target: 'unit-target', command, maxErrors: 0 },
      deps,
      () => 80_000,
    );
    expect(status).toMatchObject({ status: 'succeeded', done: 2, failedCount: 0, polls: 3, failures: [] });
  });

  it('returns "running" when the long-poll budget is spent, never more than 50 s', async () => {
    registerFixture();
    const deps = fakeDeps({ commands: runner([running]) });
    const start = deps.clock.t;
    const status = await pollCommandStep({ target: 'unit-target', command }, deps, () => 900_000);
    expect(status.status).toBe('running');
    expect(deps.clock.t - start).toBeLessThanOrEqual(LONG_POLL_MAX_MS);
    expect(deps.clock.t - start).toBeGreaterThan(LONG_POLL_MAX_MS - 2_000);
  });

  it('keeps 10 s in hand before the invocation’s own timeout', async () => {
    registerFixture();
    const deps = fakeDeps({ commands: runner([running]) });
    const start = deps.clock.t;
    await pollCommandStep({ target: 'unit-target', command }, deps, () => 15_000);
    expect(deps.clock.t - start).toBeLessThanOrEqual(5_000);
  });

  it('tolerates failed hosts up to max errors, then reports the failed ones with their output tail', async () => {
    registerFixture();
    const oneFailed: InvocationResult[] = [
      { hostId: HOST.id, state: 'failed', exitCode: 2, outputTail: `${'x'.repeat(5_000)}the end` },
      { hostId: HOST2.id, state: 'succeeded', exitCode: 0, outputTail: '' },
    ];
    const tolerated = await pollCommandStep(
      { target: 'unit-target', command, maxErrors: 1 },
      fakeDeps({ commands: runner([oneFailed]) }),
      () => 60_000,
    );
    expect(tolerated).toMatchObject({ status: 'succeeded', failedCount: 1, allowedErrors: 1 });
    const rollback = await pollCommandStep(
      { target: 'unit-target', command: { ...command, phase: 'rollback' }, maxErrors: 1 },
      fakeDeps({ commands: runner([oneFailed]) }),
      () => 60_000,
    );
    expect(rollback).toMatchObject({
      status: 'failed',
      allowedErrors: 0,
      failures: [{ hostId: HOST.id, exitCode: 2 }],
    });
    expect(rollback.failures[0]?.outputTail.length).toBeLessThanOrEqual(2_000);
    expect(rollback.failures[0]?.outputTail).toMatch(/the end$/);
  });
});

describe('pollCommandStep deadline', () => {
  const command: CommandSent = {
    commandId: 'c-1',
    phase: 'deploy',
    hosts: [HOST, HOST2],
    sentAt: '2026-01-01T00:00:00.000Z',
    deadline: '2026-01-01T00:05:00.000Z',
  };
  const stuck = {
    send: async () => ({ commandId: 'x', hosts: [] }),
    status: async (): Promise<InvocationResult[]> => [
      { hostId: HOST.id, state: 'succeeded', exitCode: 0, outputTail: 'ok' },
      { hostId: HOST2.id, state: 'pending', outputTail: '' },
    ],
  };

  it('fails the batch once the deadline passes, naming the host that never finished', async () => {
    // Prepare: a host that stays pending (never delivered, or InvocationDoesNotExist) for ever.
    registerFixture();
    const deps = fakeDeps({ commands: stuck });

    // Act: the workflow's loop, bounded here only so that a bug fails the test instead of hanging.
    let status = await pollCommandStep({ target: 'unit-target', command }, deps, () => 85_000);
    let calls = 1;
    while (status.status === 'running' && calls < 1_000) {
      status = await pollCommandStep({ target: 'unit-target', command }, deps, () => 85_000);
      calls += 1;
    }

    // Assess: 5 minutes of 50 s long-polls, then failed.
    expect(status).toMatchObject({ status: 'failed', failedCount: 1, done: 2 });
    expect(calls).toBeLessThanOrEqual(8);
    expect(status.failures[0]).toMatchObject({ hostId: HOST2.id, state: 'deadline-exceeded' });
    expect(status.failures[0]?.outputTail).toContain(
      "no final status by the command's deadline 2026-01-01T00:05:00.000Z (not delivered)",
    );
  });

  it('keeps a pending host "running" before the deadline', async () => {
    registerFixture();
    const status = await pollCommandStep(
      { target: 'unit-target', command },
      fakeDeps({ commands: stuck }),
      () => 85_000,
    );
    expect(status).toMatchObject({ status: 'running', failedCount: 0, done: 1 });
  });

  it('lets an unknown-status error of the runner fail the step', async () => {
    registerFixture();
    const deps = fakeDeps({
      commands: {
        send: stuck.send,
        status: async () => {
          throw Object.assign(new Error('SSM reported the command status "Paused"'), {
            name: 'UnknownCommandStatusError',
          });
        },
      },
    });
    await expect(
      pollCommandStep({ target: 'unit-target', command }, deps, () => 85_000),
    ).rejects.toMatchObject({
      name: 'UnknownCommandStatusError',
    });
  });

  it('reads every command of a handle that took several', async () => {
    registerFixture();
    const asked: unknown[] = [];
    const deps = fakeDeps({
      commands: {
        send: stuck.send,
        status: async (handle) => {
          asked.push(handle);
          return [];
        },
      },
    });
    await pollCommandStep(
      { target: 'unit-target', command: { ...command, commandIds: ['c-1', 'c-2'] } },
      deps,
      () => 11_000,
    );
    expect(asked[0]).toEqual({ commandId: 'c-1', commandIds: ['c-1', 'c-2'], hosts: [HOST, HOST2] });
  });
});

describe('checkHealthStep', () => {
  const healthGate = { probes: ['app'], timeoutSeconds: 30, intervalSeconds: 5, successes: 2 };

  function probes(results: boolean[]) {
    let i = 0;
    return {
      run: async (): Promise<ProbeResult[]> => {
        const ok = results[Math.min(i++, results.length - 1)] ?? false;
        return [{ probe: 'app', ok, detail: ok ? '200 in 3 ms' : 'expected status 200, got 503' }];
      },
    };
  }

  it('passes after the required consecutive successes (a failure resets the count)', async () => {
    registerFixture();
    const deps = fakeDeps({ probes: probes([true, false, true, true]) });
    const gate = await checkHealthStep(
      { target: 'unit-target', hosts: [HOST], healthGate, gate: INITIAL_GATE },
      deps,
      () => 80_000,
    );
    expect(gate).toMatchObject({ status: 'healthy', rounds: 4, consecutive: 2 });
  });

  it('fails at the gate deadline with the last results', async () => {
    registerFixture();
    const deps = fakeDeps({ probes: probes([false]) });
    const gate = await checkHealthStep(
      { target: 'unit-target', hosts: [HOST], healthGate, gate: INITIAL_GATE },
      deps,
      () => 80_000,
    );
    expect(gate).toMatchObject({ status: 'unhealthy', consecutive: 0, last: [{ probe: 'app', ok: false }] });
    // rounds at 0, 5, …, 30 s: the last one exactly at the deadline
    expect(gate.rounds).toBe(7);
  });

  it('returns "checking" at the end of its budget and carries the deadline and count into the next call', async () => {
    registerFixture();
    const long = { ...healthGate, timeoutSeconds: 600, successes: 30 };
    const deps = fakeDeps({ probes: probes([true]) });
    const first = await checkHealthStep(
      { target: 'unit-target', hosts: [HOST], healthGate: long, gate: INITIAL_GATE },
      deps,
      () => 80_000,
    );
    expect(first.status).toBe('checking');
    expect(first.consecutive).toBe(first.rounds);
    const second: GateState = await checkHealthStep(
      { target: 'unit-target', hosts: [HOST], healthGate: long, gate: first },
      deps,
      () => 80_000,
    );
    expect(second.deadline).toBe(first.deadline);
    expect(second.consecutive).toBeGreaterThan(first.consecutive);
  });

  it('counts a probe that cannot run as a failed round', async () => {
    registerFixture();
    const deps = fakeDeps({ probes: { run: async () => Promise.reject(new Error('socket hang up')) } });
    const gate = await checkHealthStep(
      {
        target: 'unit-target',
        hosts: [HOST],
        healthGate: { ...healthGate, timeoutSeconds: 5 },
        gate: INITIAL_GATE,
      },
      deps,
      () => 80_000,
    );
    expect(gate).toMatchObject({
      status: 'unhealthy',
      last: [{ ok: false, detail: 'the probe could not run: socket hang up' }],
    });
  });
});

describe('notifyStep', () => {
  it('publishes through the fallback notifier when the target is unknown, with a console link for AWS runs', async () => {
    const published: Notification[] = [];
    const outcome = await notifyStep(
      {
        run: {
          target: 'ghost',
          ref: 'v1',
          failures: {
            PlanDeploy: {
              Error: 'UnknownTargetError',
              Cause:
                '{"errorType":"UnknownTargetError","errorMessage":"unknown target \\"ghost\\"","trace":[]}',
            },
          },
        },
        runId: 'run-9',
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:deploy:run-9',
      },
      fakeDeps({}, published),
    );
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: 'UnknownTargetError',
      failedState: 'PlanDeploy',
    });
    expect(published).toEqual([
      expect.objectContaining({
        target: 'ghost',
        outcome: 'failed',
        runId: 'run-9',
        executionUrl:
          'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:deploy:run-9',
      }),
    ]);
  });
});

describe('releaseAndNotifyStep', () => {
  const plan = { target: 'unit-target', ref: 'v2', runId: 'run-1' };

  it('releases the lease this run holds, then notifies the outcome', async () => {
    // Prepare
    registerFixture();
    const leases = memoryLeases('run-1');
    const published: Notification[] = [];
    const notifier = { publish: async (n: Notification) => void published.push(n) };
    // Act
    const outcome = await releaseAndNotifyStep(
      { run: { plan, hosts: { hosts: [{ id: 'local:h' }], batchCount: 1 }, failures: {} }, runId: 'run-1' },
      fakeDeps({ leases, notifier }),
    );
    // Assess
    expect(leases.leases.has('target:unit-target')).toBe(false);
    expect(outcome.outcome).toBe('succeeded');
    expect(published).toEqual([expect.objectContaining({ outcome: 'succeeded', runId: 'run-1' })]);
  });

  it("leaves another run's lease alone (a run that could not take it)", async () => {
    registerFixture();
    const leases = memoryLeases('run-0');
    const notifier = { publish: async () => {} };
    const outcome = await releaseAndNotifyStep(
      {
        run: {
          plan,
          failures: {
            ClaimHosts: { Error: 'TargetLockedError', Cause: 'target "unit-target" is locked by run run-0' },
          },
        },
        runId: 'run-1',
      },
      fakeDeps({ leases, notifier }),
    );
    expect(leases.leases.get('target:unit-target')?.owner).toBe('run-0');
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: 'TargetLockedError',
      failedState: 'ClaimHosts',
    });
  });

  it('still notifies when the release fails, and says the lease expires on its own', async () => {
    registerFixture();
    const leases = {
      ...memoryLeases('run-1'),
      release: async () =>
        Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' })),
    };
    const published: Notification[] = [];
    const outcome = await releaseAndNotifyStep(
      { run: { plan, hosts: { hosts: [{ id: 'local:h' }], batchCount: 1 }, failures: {} }, runId: 'run-1' },
      fakeDeps({ leases, notifier: { publish: async (n: Notification) => void published.push(n) } }),
    );
    expect(outcome.outcome).toBe('succeeded');
    expect(outcome.summary).toMatch(/releasing the lock failed \(.*throttled.*\), it expires on its own/);
    expect(published).toHaveLength(1);
  });

  it('touches no lease when the plan failed (no lease was taken)', async () => {
    const released: string[] = [];
    const leases = { ...memoryLeases(null), release: async (key: string) => void released.push(key) };
    const outcome = await releaseAndNotifyStep(
      {
        run: {
          target: 'ghost',
          ref: 'v1',
          failures: { PlanDeploy: { Error: 'UnknownTargetError', Cause: 'unknown target' } },
        },
        runId: 'run-1',
      },
      fakeDeps({ leases }, []),
    );
    expect(released).toEqual([]);
    expect(outcome).toMatchObject({ outcome: 'failed', failedState: 'PlanDeploy' });
  });
});
