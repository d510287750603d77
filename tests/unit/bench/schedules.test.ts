import { describe, expect, it } from 'vitest';
import { HEALTH_PRICES, priceHealthRun } from '../../../bench/health.ts';
import { scheduleCosts } from '../../../bench/schedules.ts';
import { parseTarget } from '../../../shared/config/load.ts';
import { LIST_PRICES } from '../../../shared/cost/pricing.ts';

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

  it('prices the DynamoDB items of a measured run at the rate of each schedule, with and without the free tiers', () => {
    // Prepare: a 2,500 B state item (3 write units a run, 1 read unit), a 700 B day item written once a day
    const usage = { transitions: 2, invocations: 1, gbSeconds: 0.005, byFunction: {} };
    const itemBytes = { state: 2_500, day: 700 };
    const everyFive = parseTarget(
      {
        name: 'slow',
        description: 'checked every 5 minutes',
        hosts: { type: 'local', directory: '/tmp/slow' },
        health: {
          schedule: 'rate(5 minutes)',
          probes: [{ name: 'a', type: 'http', url: 'http://127.0.0.1:1/' }],
        },
      },
      'slow',
    );
    const express = HEALTH_PRICES.expressPerRequest + 0.1 * (64 / 1024) * HEALTH_PRICES.expressPerGbSecond;
    const dynamo = (runsPerDay: number) =>
      HEALTH_PRICES.dynamoPerReadUnit + (3 + 1 / runsPerDay) * HEALTH_PRICES.dynamoPerWriteUnit;

    // Act
    const rows = scheduleCosts([target, everyFive], {
      health: { cost: priceHealthRun(usage, 40), source: 'measured', usage, wallMs: 40, itemBytes },
    });

    // Assess: the Lambda stays in its free tier; Express and DynamoDB are billed in full
    const [minute, five] = [rows[0], rows.find((r) => r.target === 'slow')];
    expect(minute?.freeTierMonthly).toBeCloseTo(43_800 * (express + dynamo(1_440)), 9);
    expect(five?.freeTierMonthly).toBeCloseTo(8_760 * (express + dynamo(288)), 9);
    expect(five?.monthly).toBeCloseTo(
      8_760 * (express + dynamo(288) + LIST_PRICES.lambdaPerRequest + 0.005 * LIST_PRICES.lambdaPerGbSecond),
      9,
    );
  });
});
