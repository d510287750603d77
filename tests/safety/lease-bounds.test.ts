/**
 * How long a deploy's lease must last and how long a deploy run may take, written out here from
 * the waits the workflow makes: a command waits its script's timeout, SSM's delivery timeout
 * (600 s) and a minute of status reads, plus 180 s of slack for the Task that checks the deadline;
 * a health gate waits its timeout plus that slack; a load balancer its drain and healthy timeouts
 * plus the slack of each. The lease renewed at each send must outlast that command, its gate AND a
 * rollback with its gate, plus a 600 s margin, never more than 12 hours.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import {
  assumedBatches,
  batchLeaseSeconds,
  deployRunBoundSeconds,
  runBoundSeconds,
} from '../../shared/deploy/bounds.ts';
import { type DeployPlan, planDeploy } from '../../shared/deploy/plan.ts';

const SSM_DELIVERY = 600 + 60;
const SLACK = 180;
const MARGIN = 600;
const TWELVE_HOURS = 43_200;

type Timings = {
  deploy: number;
  rollback: number;
  gate: number;
  verify?: number;
  lb?: { drain: number; healthy: number };
};

/** A plan with only the timings the bounds read (the rest is not part of this rule). */
function planWith(t: Timings, batchSize: number | string = 1): DeployPlan {
  return {
    deployTimeoutSeconds: t.deploy,
    rollbackTimeoutSeconds: t.rollback,
    healthGate: { probes: ['site'], timeoutSeconds: t.gate, intervalSeconds: 5, successes: 1 },
    batchSize,
    ...(t.verify === undefined ? {} : { verifyTimeoutSeconds: t.verify }),
    ...(t.lb
      ? {
          loadBalancer: {
            targetGroups: ['tg'],
            drainTimeoutSeconds: t.lb.drain,
            healthyTimeoutSeconds: t.lb.healthy,
          },
        }
      : {}),
  } as DeployPlan;
}

/** The spec, written independently of the module. */
function expectedLease(t: Timings): number {
  const command = (s: number) => s + SSM_DELIVERY + SLACK;
  const gate = t.gate + SLACK;
  const lb = t.lb ? t.lb.drain + t.lb.healthy + 2 * SLACK : 0;
  return Math.min(TWELVE_HOURS, command(t.deploy) + gate + lb + command(t.rollback) + gate + lb + MARGIN);
}

const timings = fc.record({
  deploy: fc.integer({ min: 1, max: 20_000 }),
  rollback: fc.integer({ min: 1, max: 20_000 }),
  gate: fc.integer({ min: 1, max: 3_600 }),
  lb: fc.option(
    fc.record({ drain: fc.integer({ min: 0, max: 900 }), healthy: fc.integer({ min: 0, max: 900 }) }),
    {
      nil: undefined,
    },
  ),
});

describe('how long a deploy lease must last', () => {
  it('covers the command, its gate, the rollback and its gate, plus the margin (written out)', () => {
    // 600 + 660 + 180 = 1440 for the command, 120 + 180 = 300 for each gate, 300 + 840 = 1140 for
    // the rollback, 600 of margin.
    expect(batchLeaseSeconds(planWith({ deploy: 600, rollback: 300, gate: 120 }))).toBe(3_780);
    // A load balancer adds its drain and healthy waits with their slack, once for each side: 2 × 450.
    expect(
      batchLeaseSeconds(planWith({ deploy: 600, rollback: 300, gate: 120, lb: { drain: 30, healthy: 60 } })),
    ).toBe(4_680);
    expect(batchLeaseSeconds(planWith({ deploy: 30_000, rollback: 30_000, gate: 600 }))).toBe(TWELVE_HOURS);
  });

  it('grows by every second the rollback may take, up to the 12-hour cap (property)', () => {
    fc.assert(
      fc.property(timings, fc.integer({ min: 1, max: 5_000 }), (t, more) => {
        const lease = batchLeaseSeconds(planWith(t));
        expect(lease).toBe(expectedLease(t));
        const longer = batchLeaseSeconds(planWith({ ...t, rollback: t.rollback + more }));
        expect(longer).toBe(Math.min(TWELVE_HOURS, lease + more));
        // Never shorter than a command to its deadline, its gate and a rollback with its gate.
        const untilRolledBack = t.deploy + t.rollback + 2 * (SSM_DELIVERY + SLACK) + 2 * (t.gate + SLACK);
        expect(lease).toBeGreaterThanOrEqual(Math.min(TWELVE_HOURS, untilRolledBack));
        expect(lease).toBeLessThanOrEqual(TWELVE_HOURS);
      }),
    );
  });
});

describe('how long a deploy run may take', () => {
  it('adds the run overhead, the verify, every batch and one rollback (written out)', () => {
    // 1200 overhead + 3 × (1440 + 300) + (1140 + 300).
    expect(runBoundSeconds(planWith({ deploy: 600, rollback: 300, gate: 120 }), 3)).toBe(7_860);
    // A verify of 100 s waits like a command: 100 + 660 + 180.
    expect(runBoundSeconds(planWith({ deploy: 600, rollback: 300, gate: 120, verify: 100 }), 3)).toBe(8_800);
    // A load balancer: 450 more in each of the 3 batches and in the rollback.
    expect(
      runBoundSeconds(planWith({ deploy: 600, rollback: 300, gate: 120, lb: { drain: 30, healthy: 60 } }), 3),
    ).toBe(7_860 + 4 * 450);
  });

  it('always outlasts the lease of its last batch (property)', () => {
    fc.assert(
      fc.property(timings, fc.integer({ min: 1, max: 50 }), (t, batches) => {
        const bound = runBoundSeconds(planWith(t), batches);
        const command = (s: number) => s + SSM_DELIVERY + SLACK;
        const lb = t.lb ? t.lb.drain + t.lb.healthy + 2 * SLACK : 0;
        expect(bound).toBe(
          1_200 +
            batches * (command(t.deploy) + t.gate + SLACK + lb) +
            command(t.rollback) +
            t.gate +
            SLACK +
            lb,
        );
      }),
    );
  });

  it.each([
    ['25%', undefined, 4],
    ['30%', undefined, 4],
    ['100%', undefined, 1],
    ['0%', undefined, 100],
    [2, 5, 3],
    [2, 4, 2],
    [5, 0, 1],
    [3, undefined, 20],
  ] as const)('assumes batch size %s with %s hosts runs in %s batches', (size, hosts, batches) => {
    expect(assumedBatches({ batchSize: size }, hosts)).toBe(batches);
  });

  it('bounds a target with no deploy at 0, hosts listed by id by their count, hosts found by tag at 20 batches', () => {
    // Prepare
    const base = findTarget('zmanim');
    const deploy = { ...base.deploy!, batches: { size: 2, maxErrors: 0 } };
    const listed = {
      ...base,
      deploy,
      hosts: { ...base.hosts, instanceIds: ['i-1', 'i-2', 'i-3'] },
    } as Target;
    const tagged = { ...base, deploy } as Target;
    const plan = planDeploy(listed, 'HEAD', 'bound');

    // Assess: 3 hosts by 2 are 2 batches.
    expect('instanceIds' in base.hosts).toBe(false);
    expect(deployRunBoundSeconds({ ...base, deploy: undefined } as Target)).toBe(0);
    expect(deployRunBoundSeconds(listed)).toBe(runBoundSeconds(plan, 2));
    expect(deployRunBoundSeconds(tagged)).toBe(runBoundSeconds(plan, 20));
  });
});
