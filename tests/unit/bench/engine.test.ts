import { describe, expect, it } from 'vitest';
import { benchEngine, NOOP_OUTPUTS } from '../../../bench/engine.ts';
import { claimedHostsSchema, deployPlanSummarySchema } from '../../../shared/deploy/contracts.ts';

describe('the local engine bench', () => {
  it('keeps its no-op plan in the shape the deploy workflow reads', () => {
    // Act
    const plan = deployPlanSummarySchema.safeParse(NOOP_OUTPUTS['plan-deploy']?.({ runId: 'noop-1' }));

    const hosts = claimedHostsSchema.safeParse(NOOP_OUTPUTS['claim-hosts']?.({}));

    // Assess
    expect(plan.error?.issues ?? []).toEqual([]);
    expect(hosts.error?.issues ?? []).toEqual([]);
  });

  it('runs the no-op deploy to its end and counts the executions', async () => {
    // Act
    const section = await benchEngine({ quick: true, log: () => {} });

    // Assess
    expect(section.status).toBe('ok');
    expect(section.executions).toBeGreaterThan(0);
    expect(section.transitionsPerExecution).toBeGreaterThan(10);
  });
});
