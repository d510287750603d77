/**
 * The health gate stays inside its Lambda (a round starts only if it can end before the invocation
 * must return) and survives probes and drivers that reject with anything at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import type { Target } from '../../../shared/config/schema.ts';
import { type GateState, INITIAL_GATE } from '../../../shared/deploy/contracts.ts';
import type { DeployDeps } from '../../../shared/deploy/deps.ts';
import { checkHealthStep } from '../../../shared/deploy/steps/check-health.ts';
import { LONG_POLL_SAFETY_MS } from '../../../shared/deploy/steps/common.ts';
import type { Drivers } from '../../../shared/drivers/index.ts';
import type { CommandRunner, HostRef, ProbeResult, ProbeRunner } from '../../../shared/drivers/ports.ts';
import { StandardProbeRunner } from '../../../shared/health/probe.ts';
import { probeRoundSeconds } from '../../../shared/health/round.ts';
import { DEPLOY_FUNCTION_TIMEOUTS } from '../../../workflows/deploy.ts';

const HOST: HostRef = { kind: 'local', id: 'local:/tmp/h1', directory: '/tmp/h1' };
const FUNCTION_MS = DEPLOY_FUNCTION_TIMEOUTS['check-health'] * 1000;

function register(probeTimeout: number): Target {
  registerTarget({
    name: 'gate-bounds',
    description: 'a target whose probe is slow',
    hosts: { type: 'local', directory: '/tmp/gate-bounds' },
    deploy: {
      steps: [{ name: 'build', script: 'true', timeout: 60 }],
      rollback: [{ name: 'restore', script: 'true', timeout: 60 }],
      healthGate: { probes: ['slow'], timeout: 600, interval: 5, successes: 2 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'slow', type: 'http', url: 'https://example.com/health', timeout: probeTimeout }],
    },
  });
  return findTarget('gate-bounds');
}

/** A clock that moves only when someone sleeps or a probe takes time. */
function clockDeps(probes: ProbeRunner): DeployDeps & { clock: { t: number } } {
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  return {
    clock,
    findTarget,
    driversFor: () => ({ probes }) as Partial<Drivers> as Drivers,
    fallbackNotifier: () => ({ publish: async () => undefined }),
    now: () => clock.t,
    sleep: async (ms) => {
      clock.t += ms;
    },
  };
}

afterEach(() => clearRegisteredTargets());

describe('check-health rounds never outlive the invocation', () => {
  it('does not start a round that would end past the function timeout, and the batch passes', async () => {
    // Prepare: a 45 s probe whose first round takes 39 s; a second round at 44 s would end at 89 s.
    const target = register(45);
    const roundStarts: { at: number; invocationEnd: number }[] = [];
    let invocationEnd = 0;
    const durations = [39_000, 20_000, 20_000];
    const runner: ProbeRunner = {
      async run(probe) {
        roundStarts.push({ at: deps.clock.t, invocationEnd });
        const took = durations.shift() ?? 1_000;
        if (deps.clock.t + took > invocationEnd) throw new Error('Task timed out (the Lambda was killed)');
        deps.clock.t += took;
        return [{ probe: probe.name, ok: true, detail: '200 in 39000 ms' }];
      },
    };
    const deps = clockDeps(runner);
    const healthGate = { probes: ['slow'], timeoutSeconds: 600, intervalSeconds: 5, successes: 2 };

    // Act: the workflow's Choice loop, one Lambda invocation per call.
    let gate: GateState = INITIAL_GATE;
    const statuses: string[] = [];
    do {
      const started = deps.clock.t;
      invocationEnd = started + FUNCTION_MS;
      gate = await checkHealthStep({ target: target.name, hosts: [HOST], healthGate, gate }, deps, () =>
        Math.max(0, invocationEnd - deps.clock.t),
      );
      statuses.push(gate.status);
    } while (gate.status === 'checking');

    // Assess
    expect(statuses).toEqual(['checking', 'healthy']);
    expect(gate.last).toEqual([{ probe: 'slow', ok: true, detail: '200 in 39000 ms' }]);
    const bound = probeRoundSeconds(target.health!.probes) * 1000;
    for (const start of roundStarts) {
      expect(start.at + bound).toBeLessThanOrEqual(start.invocationEnd - LONG_POLL_SAFETY_MS);
    }
  });

  it('waits out the interval in the next invocation before the round it deferred', async () => {
    // Prepare
    const target = register(45);
    const starts: number[] = [];
    const deps = clockDeps({
      async run(probe) {
        starts.push(deps.clock.t);
        deps.clock.t += 39_000;
        return [{ probe: probe.name, ok: true, detail: 'ok' }];
      },
    });
    const healthGate = { probes: ['slow'], timeoutSeconds: 600, intervalSeconds: 5, successes: 2 };
    const t0 = deps.clock.t;

    // Act
    const first = await checkHealthStep(
      { target: target.name, hosts: [HOST], healthGate, gate: INITIAL_GATE },
      deps,
      () => t0 + FUNCTION_MS - deps.clock.t,
    );
    const t1 = deps.clock.t;
    const second = await checkHealthStep(
      { target: target.name, hosts: [HOST], healthGate, gate: first },
      deps,
      () => t1 + FUNCTION_MS - deps.clock.t,
    );

    // Assess
    expect(first).toMatchObject({ status: 'checking', nextRoundAt: new Date(t0 + 44_000).toISOString() });
    expect(second.status).toBe('healthy');
    expect(starts).toEqual([t0, t0 + 44_000]);
  });

  it('fails the gate with the reason when not even one round fits in a fresh invocation', async () => {
    // Prepare: a 90 s probe can never end inside an 85 s function.
    const target = register(90);
    let calls = 0;
    const deps = clockDeps({
      async run() {
        calls += 1;
        return [];
      },
    });
    const healthGate = { probes: ['slow'], timeoutSeconds: 600, intervalSeconds: 5, successes: 2 };

    // Act
    const gate = await checkHealthStep(
      { target: target.name, hosts: [HOST], healthGate, gate: INITIAL_GATE },
      deps,
      () => FUNCTION_MS,
    );

    // Assess
    expect(calls).toBe(0);
    expect(gate.status).toBe('unhealthy');
    expect(gate.last?.[0]?.detail).toBe(
      "a round of these probes can take 92 s, more than the 75 s this check can use: shorten the probes' timeouts",
    );
  });
});

describe('probes and drivers that reject with something other than an Error', () => {
  const healthGate = { probes: ['slow'], timeoutSeconds: 60, intervalSeconds: 5, successes: 1 };

  const rejections: [string, () => unknown, string][] = [
    ['undefined', () => undefined, 'the probe could not run: rejected without a reason (undefined)'],
    ['a string', () => 'ECONNRESET while reading', 'the probe could not run: ECONNRESET while reading'],
    [
      'a null-prototype object',
      () => Object.assign(Object.create(null), { code: 'EPIPE', errno: -32 }),
      'the probe could not run: rejected with {"code":"EPIPE","errno":-32}',
    ],
    ['null', () => null, 'the probe could not run: rejected without a reason (null)'],
  ];

  it.each(rejections)('records a probe rejecting with %s as a failed probe', async (_what, value, detail) => {
    // Prepare
    const target = register(5);
    const deps = clockDeps({
      run: () => Promise.reject(value()),
    });

    // Act
    const gate = await checkHealthStep(
      { target: target.name, hosts: [HOST], healthGate, gate: INITIAL_GATE },
      deps,
      () => FUNCTION_MS,
    );

    // Assess
    expect(gate).toMatchObject({ status: 'checking', consecutive: 0 });
    expect(gate.last).toEqual([{ probe: 'slow', ok: false, detail }]);
  });

  it.each(rejections)(
    'records a command runner rejecting with %s as failed host probes',
    async (_what, value, detail) => {
      // Prepare
      const commands: CommandRunner = {
        send: () => Promise.reject(value()),
        status: () => Promise.reject(value()),
      };
      const runner = new StandardProbeRunner({ commands, target: 't' });
      const probe = { name: 'disk', type: 'command' as const, script: 'df /', expectExitCode: 0, timeout: 5 };

      // Act
      const results: ProbeResult[] = await runner.runAll([probe], [HOST]);

      // Assess
      expect(results).toEqual([
        {
          probe: 'disk',
          host: HOST.id,
          ok: false,
          detail: detail.replace('the probe could not run', 'the probe command could not run'),
        },
      ]);
    },
  );

  it.each(rejections)('records fetch rejecting with %s as a failed HTTP probe', async (_what, value) => {
    // Prepare
    const runner = new StandardProbeRunner({
      commands: { send: () => Promise.reject(new Error('unused')), status: async () => [] },
      fetch: () => Promise.reject(value()),
    });
    const probe = {
      name: 'site',
      type: 'http' as const,
      url: 'https://example.com/',
      method: 'GET' as const,
      expectStatus: [200],
      from: 'outside' as const,
      timeout: 5,
    };

    // Act
    const [result] = await runner.run(probe, [HOST]);

    // Assess
    expect(result?.ok).toBe(false);
    expect(result?.detail).toMatch(/^request failed: /);
  });
});
