import { describe, expect, it } from 'vitest';
import {
  HEALTH_PRICES,
  monthlyHealthCost,
  priceHealthRun,
  slowerRoundMonthlyCost,
} from '../../../bench/health.ts';
import { LIST_PRICES } from '../../../shared/cost/pricing.ts';

describe('priceHealthRun', () => {
  it('bills one Express request, its duration in 100 ms steps at 64 MB and the Lambdas, nothing for the scheduled rule', () => {
    // Prepare
    const usage = { transitions: 3, invocations: 2, gbSeconds: 0.01, byFunction: {} };

    // Act
    const fast = priceHealthRun(usage, 17);
    const slow = priceHealthRun(usage, 1_201);

    // Assess
    const perTenth = 0.1 * (64 / 1024) * HEALTH_PRICES.expressPerGbSecond;
    expect(fast.stepFunctions).toBeCloseTo(1e-6 + perTenth, 15);
    expect(slow.stepFunctions).toBeCloseTo(1e-6 + 13 * perTenth, 15);
    expect(fast.lambdaRequests).toBeCloseTo(2 * LIST_PRICES.lambdaPerRequest, 15);
    expect(fast.lambdaCompute).toBeCloseTo(0.01 * LIST_PRICES.lambdaPerGbSecond, 15);
    expect(fast.total).toBeCloseTo(fast.stepFunctions + fast.lambdaRequests + fast.lambdaCompute, 15);
  });
});

describe('monthlyHealthCost', () => {
  it('bills every run at list price, and with the free tiers only Express and what exceeds them', () => {
    // Prepare
    const usage = { transitions: 2, invocations: 1, gbSeconds: 0.01, byFunction: {} };
    const express = 1e-6 + 0.1 * (64 / 1024) * HEALTH_PRICES.expressPerGbSecond;

    // Act
    const everyMinute = monthlyHealthCost(usage, 60, 43_800);
    const huge = monthlyHealthCost(usage, 60, 50_000_000);

    // Assess
    expect(everyMinute.listPrice).toBeCloseTo(43_800 * priceHealthRun(usage, 60).total, 12);
    expect(everyMinute.freeTiers).toBeCloseTo(43_800 * express, 12);
    // 50M runs: 49M Lambda requests and 100,000 GB-s beyond the free tiers
    expect(huge.freeTiers).toBeCloseTo(
      50e6 * express + 49e6 * LIST_PRICES.lambdaPerRequest + 100_000 * LIST_PRICES.lambdaPerGbSecond,
      6,
    );
  });
});

describe('slowerRoundMonthlyCost', () => {
  it('prices 100 ms more of every round: the Express duration at 64 MB and the waiting Lambda', () => {
    // Assess: 43,800 × (0.1 s × 1/16 GB × $0.06/GB-hour + 0.1 s × 1/4 GB × $0.0000166667/GB-s)
    expect(slowerRoundMonthlyCost(256, 43_800)).toBeCloseTo(43_800 * (1.0417e-7 + 4.1667e-7), 6);
    expect(slowerRoundMonthlyCost(512, 43_800)).toBeGreaterThan(slowerRoundMonthlyCost(256, 43_800));
  });
});

describe('the status page publish cost', () => {
  it('prices a publish as its Lambda, the longer Express run, one S3 PUT and one GetItem a target', async () => {
    // Prepare: 150 ms at 256 MB
    const { statusPageCost } = await import('../../../bench/health.ts');
    const usage = {
      transitions: 5,
      invocations: 2,
      gbSeconds: 0.0375,
      byFunction: {
        'publish-status-page': { invocations: 1, durationMs: 150, memoryMb: 256, gbSeconds: 0.0375 },
      },
    };

    // Act
    const cost = statusPageCost(usage);

    // Assess: $0.20/M + 0.0375 GB-s × $0.0000166667 + 0.2 s × 1/16 GB × $0.06/GB-hour + $0.005/1,000 + $0.125/M
    expect(cost?.perPublish).toBeCloseTo(0.0000002 + 0.000000625 + 0.000000208 + 0.000005 + 0.000000125, 9);
    expect(cost?.monthly).toBeCloseTo(8_760 * 0.000006158, 5);
    expect(statusPageCost({ ...usage, byFunction: {} })).toBeUndefined();
  });
});
