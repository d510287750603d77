import { describe, expect, it } from 'vitest';
import { HEALTH_PRICES, priceHealthRun } from '../../../bench/health.ts';
import { LIST_PRICES } from '../../../shared/cost/pricing.ts';

describe('priceHealthRun', () => {
  it('bills one Express request, its duration in 100 ms steps at 64 MB, the Scheduler and the Lambdas', () => {
    // Prepare
    const usage = { transitions: 3, invocations: 2, gbSeconds: 0.01, byFunction: {} };

    // Act
    const fast = priceHealthRun(usage, 17);
    const slow = priceHealthRun(usage, 1_201);

    // Assess
    const perTenth = 0.1 * (64 / 1024) * HEALTH_PRICES.expressPerGbSecond;
    expect(fast.stepFunctions).toBeCloseTo(1e-6 + perTenth + 1e-6, 15);
    expect(slow.stepFunctions).toBeCloseTo(1e-6 + 13 * perTenth + 1e-6, 15);
    expect(fast.lambdaRequests).toBeCloseTo(2 * LIST_PRICES.lambdaPerRequest, 15);
    expect(fast.lambdaCompute).toBeCloseTo(0.01 * LIST_PRICES.lambdaPerGbSecond, 15);
    expect(fast.total).toBeCloseTo(fast.stepFunctions + fast.lambdaRequests + fast.lambdaCompute, 15);
  });
});
