import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_MB, usageOf } from '../../../shared/cost/usage.ts';

describe('usageOf', () => {
  it('counts one request per invocation and bills each at its function memory', () => {
    // Prepare
    const activity = {
      transitions: 9,
      invocations: [
        { functionName: 'plan-deploy', durationMs: 10 },
        { functionName: 'poll-command', durationMs: 1000 },
        { functionName: 'poll-command', durationMs: 499.2 },
      ],
    };

    // Act
    const usage = usageOf(activity, { 'poll-command': 1024 }, 128);

    // Assess
    expect(usage.transitions).toBe(9);
    expect(usage.invocations).toBe(3);
    expect(usage.byFunction['plan-deploy']).toEqual({
      invocations: 1,
      durationMs: 10,
      memoryMb: 128,
      gbSeconds: 0.125 * 0.01,
    });
    expect(usage.byFunction['poll-command']?.invocations).toBe(2);
    expect(usage.byFunction['poll-command']?.gbSeconds).toBeCloseTo(1 + 0.5, 12);
    expect(usage.gbSeconds).toBeCloseTo(0.00125 + 1.5, 12);
  });

  it('uses the documented default memory when none is given', () => {
    const usage = usageOf({ transitions: 1, invocations: [{ functionName: 'x', durationMs: 1000 }] });
    expect(usage.byFunction.x?.memoryMb).toBe(DEFAULT_MEMORY_MB);
    expect(usage.gbSeconds).toBeCloseTo(DEFAULT_MEMORY_MB / 1024, 12);
  });

  it('reports a run without Lambda invocations as transitions only', () => {
    expect(usageOf({ transitions: 3, invocations: [] })).toEqual({
      transitions: 3,
      invocations: 0,
      gbSeconds: 0,
      byFunction: {},
    });
  });
});
