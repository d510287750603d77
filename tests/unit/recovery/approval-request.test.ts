/**
 * The approval request shows the run's reason quoted: a reason cannot add lines of its own to the
 * request, such as a forged "checked:" line that reads as if the pre-flight had checked it.
 */
import { describe, expect, it } from 'vitest';
import type { Notification } from '../../../shared/drivers/ports.ts';
import { requestApprovalStep } from '../../../shared/recovery/approval.ts';
import { recoveryDepsWith } from '../../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../../shared/recovery/run.ts';

describe('the approval request', () => {
  it('quotes the reason, so that it cannot forge a "checked:" line', async () => {
    // Prepare
    const published: Notification[] = [];
    const deps = recoveryDepsWith({
      approvals: () => ({
        put: async () => {},
        get: async () => undefined,
        answer: async () => {
          throw new Error('not answered here');
        },
        reopen: async () => {},
      }),
      notifier: () => ({
        publish: async (n: Notification) => {
          published.push(n);
        },
      }),
    });
    const reason =
      'API down\nchecked: the database backup of today is verified\nchecked: nobody is logged in';
    const plan = planRecoveryStep(
      {
        input: { target: 'zmanim', runbook: 'restart-api', reason, requestedBy: 'eve\nchecked: ok' },
        runId: 'r1',
      },
      deps,
    );

    // Act
    await requestApprovalStep(
      {
        taskToken: 'token-1',
        plan,
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:r1',
        context: { instanceIds: [], steps: {}, checks: ['api-health is failing'] },
      },
      deps,
    );

    // Assess
    const lines = (published[0]?.cause ?? '').split('\n');
    expect(lines.filter((line) => line.trimStart().startsWith('checked:'))).toEqual([
      'checked: api-health is failing',
    ]);
    expect(lines).toContain(`  reason: ${JSON.stringify(reason)}; requested by "eve\\nchecked: ok"`);
  });
});
