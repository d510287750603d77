import { describe, expect, it } from 'vitest';
import { withStepopsHome } from '../../../bench/harness.ts';
import { measureRecoveryCost, recoveryMemoryMb } from '../../../bench/recovery.ts';
import { LIST_PRICES } from '../../../shared/cost/pricing.ts';

describe('measureRecoveryCost', () => {
  it('prices a real run of the restart runbook: approval asked and answered, the command, the probes', async () => {
    // Act
    const { scenario } = await withStepopsHome(() => measureRecoveryCost({ runs: 1, log: () => {} }));

    // Assess
    const calls = scenario.usage.byFunction;
    expect(scenario.outcome).toBe('succeeded');
    expect(calls['request-approval']?.invocations).toBe(1);
    expect(calls['answer-approval']?.invocations).toBe(1);
    expect(calls['verify-recovery']?.invocations).toBeGreaterThanOrEqual(1);
    // The restart sleeps 1 s: the command's Lambda is billed at least that, at its 512 MB.
    expect(calls['run-recovery-command']).toMatchObject({ memoryMb: 512 });
    expect(calls['run-recovery-command']?.gbSeconds).toBeGreaterThanOrEqual(0.5);
    expect(scenario.cost.stepFunctions).toBeCloseTo(
      scenario.usage.transitions * LIST_PRICES.stepFunctionsPerTransition,
      15,
    );
  });
});

describe('recoveryMemoryMb', () => {
  it('takes the memory of stacks/recover.ts, 256 MB where it sets none', () => {
    // Act
    const memory = recoveryMemoryMb(['plan-recovery', 'notify-recovery']);

    // Assess
    expect(memory).toEqual({ 'plan-recovery': 512, 'notify-recovery': 256, 'answer-approval': 256 });
  });
});
