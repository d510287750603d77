import { describe, expect, it } from 'vitest';
import { UnfilledValuesError } from '../../../shared/config/load.ts';
import { recoveryDepsWith } from '../../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../../shared/recovery/run.ts';

const deps = recoveryDepsWith({});

describe('plan-recovery on the targets as shipped', () => {
  it('refuses a runbook that uses a value still to fill in, naming it, before anything runs', () => {
    // Act
    let error: unknown;
    try {
      planRecoveryStep(
        { input: { target: 'datizmo', runbook: 'restore-database', reason: 'test' }, runId: 'r1' },
        deps,
      );
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(UnfilledValuesError);
    expect((error as Error).message).toContain('recovery.restore-database.steps[0].dbInstance');
    expect((error as Error).message).toContain('before it runs runbook "restore-database"');
  });

  it('plans a runbook whose values are all given, rendering the plan and the approval it needs', () => {
    // Act
    const plan = planRecoveryStep(
      { input: { target: 'zmanim', runbook: 'restart-api', reason: 'API down' }, runId: 'r1' },
      deps,
    );

    // Assess
    expect(plan.approval).toMatchObject({ required: false, timeoutSeconds: 3600 });
    expect(plan.steps.map((s) => [s.name, s.kind])).toEqual([['restart-api', 'command']]);
    expect(plan.planText).toContain('recover zmanim with runbook "restart-api" (run r1)');
    expect(plan.verify).toMatchObject({ enabled: true, probes: ['api-local', 'api-health'] });
  });
});
