import { describe, expect, it } from 'vitest';
import { HEALTH_PRICES, priceHealthRun } from '../../../bench/health.ts';
import { scheduleCosts } from '../../../bench/schedules.ts';
import { parseTarget } from '../../../shared/config/load.ts';

const target = parseTarget(
  {
    name: 'fixture',
    description: 'a fixture',
    hosts: { type: 'local', directory: '/tmp/fixture' },
    health: {
      schedule: 'rate(1 minute)',
      probes: [
        { name: 'a', type: 'http', url: 'http://127.0.0.1:1/health' },
        { name: 'b', type: 'http', url: 'http://127.0.0.1:1/ready' },
      ],
    },
    backup: [
      {
        name: 'dump',
        type: 'dump',
        script: 'echo dump',
        timeout: 60,
        bucket: 'my-bucket',
        schedule: 'cron(0 2 * * ? *)',
        retention: { days: 7 },
      },
    ],
  },
  'fixture',
);

describe('scheduleCosts', () => {
  it('gives no figure for a workflow that does not exist, but counts runs and the anchor', () => {
    // Act
    const rows = scheduleCosts([target], {});

    // Assess
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ target: 'fixture', kind: 'health', runsPerMonth: 43_800, monthly: null });
    expect(rows[0]?.note).toMatch(/health workflow not built yet/);
    // 2 canaries × 43,800 runs × $0.0012
    expect(rows[0]?.note).toMatch(/\$105\.12\/month/);
    expect(rows[1]).toMatchObject({ kind: 'backup', monthly: null });
    expect(rows[1]?.runsPerMonth).toBeCloseTo(730 / 24, 9);
  });

  it('multiplies runs per month by the measured cost of one run', () => {
    const cost = { stepFunctions: 0.0001, lambdaRequests: 0, lambdaCompute: 0.0001, total: 0.0002 };
    const rows = scheduleCosts([target], { health: { cost, source: 'measured' } });
    expect(rows[0]?.monthly).toBeCloseTo(43_800 * 0.0002, 9);
    expect(rows[0]?.freeTierMonthly).toBeUndefined();
  });

  it('prices a measured health run with the monthly free tiers too', () => {
    // Prepare
    const usage = { transitions: 2, invocations: 1, gbSeconds: 0.005, byFunction: {} };
    const cost = priceHealthRun(usage, 40);

    // Act
    const rows = scheduleCosts([target], { health: { cost, source: 'measured', usage, wallMs: 40 } });

    // Assess: 43,800 runs stay within the Lambda free tier, so only Express is billed
    expect(rows[0]?.monthly).toBeCloseTo(43_800 * cost.total, 9);
    expect(rows[0]?.freeTierMonthly).toBeCloseTo(
      43_800 * (HEALTH_PRICES.expressPerRequest + 0.1 * (64 / 1024) * HEALTH_PRICES.expressPerGbSecond),
      9,
    );
  });
});
