import { describe, expect, it } from 'vitest';
import { gbSeconds, LIST_PRICES, priceRun, runsPerMonth } from '../../../shared/cost/pricing.ts';

describe('gbSeconds', () => {
  it('multiplies memory in GB by the duration in seconds', () => {
    // Prepare / Act
    const value = gbSeconds(1024, 1000);

    // Assess
    expect(value).toBe(1);
  });

  it('rounds the duration up to the next millisecond, with a 1 ms minimum', () => {
    expect(gbSeconds(256, 12.01)).toBeCloseTo(0.25 * 0.013, 12);
    expect(gbSeconds(256, 0)).toBeCloseTo(0.25 * 0.001, 12);
  });

  it('rejects a non-positive memory and a negative duration', () => {
    expect(() => gbSeconds(0, 10)).toThrow(RangeError);
    expect(() => gbSeconds(128, -1)).toThrow(RangeError);
    expect(() => gbSeconds(128, Number.NaN)).toThrow(RangeError);
  });
});

describe('priceRun', () => {
  it('prices transitions, requests and compute at list prices', () => {
    // Prepare
    const usage = { transitions: 1000, invocations: 1_000_000, gbSeconds: 100_000 };

    // Act
    const cost = priceRun(usage);

    // Assess
    expect(cost.stepFunctions).toBeCloseTo(0.025, 12);
    expect(cost.lambdaRequests).toBeCloseTo(0.2, 12);
    expect(cost.lambdaCompute).toBeCloseTo(1.66667, 9);
    expect(cost.total).toBeCloseTo(0.025 + 0.2 + 1.66667, 9);
  });

  it('uses the prices given', () => {
    const cost = priceRun(
      { transitions: 2, invocations: 0, gbSeconds: 0 },
      { ...LIST_PRICES, stepFunctionsPerTransition: 1 },
    );
    expect(cost.total).toBe(2);
  });

  it('rejects negative usage', () => {
    expect(() => priceRun({ transitions: -1, invocations: 0, gbSeconds: 0 })).toThrow(/transitions/);
  });
});

describe('runsPerMonth', () => {
  it('counts rate expressions over a 730-hour month', () => {
    expect(runsPerMonth('rate(1 minute)')).toBe(43_800);
    expect(runsPerMonth('rate(5 minutes)')).toBe(8_760);
    expect(runsPerMonth('rate(2 hours)')).toBe(365);
    expect(runsPerMonth('rate(1 day)')).toBeCloseTo(730 / 24, 9);
  });

  it('counts a daily cron once a day', () => {
    expect(runsPerMonth('cron(0 2 * * ? *)')).toBeCloseTo(730 / 24, 9);
  });

  it('multiplies minute and hour lists, ranges and steps', () => {
    expect(runsPerMonth('cron(0/15 8-17 * * ? *)')).toBeCloseTo(4 * 10 * (730 / 24), 9);
    expect(runsPerMonth('cron(0,30 1,13 * * ? *)')).toBeCloseTo(4 * (730 / 24), 9);
  });

  it('takes a day-of-week list as its share of the week', () => {
    expect(runsPerMonth('cron(0 3 ? * MON-FRI *)')).toBeCloseTo((5 / 7) * (730 / 24), 9);
    expect(runsPerMonth('cron(0 3 ? * 1 *)')).toBeCloseTo((1 / 7) * (730 / 24), 9);
  });

  it('takes a day-of-month list as that many days and a month list as its share of the year', () => {
    expect(runsPerMonth('cron(0 0 1,15 * ? *)')).toBe(2);
    expect(runsPerMonth('cron(0 0 1 JAN,JUL ? *)')).toBeCloseTo(2 / 12, 12);
  });

  it('rejects anything that is not a schedule expression', () => {
    expect(() => runsPerMonth('every minute')).toThrow(RangeError);
    expect(() => runsPerMonth('cron(61 * * * ? *)')).toThrow(RangeError);
  });
});
