/**
 * The approval request of a recovery: the store holds the task token until `now + approvalTimeout`
 * (the expiry every link and answer is checked against), and the alert carries the plan, the
 * commands, and the signed approve and reject links of exactly that expiry.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRecord, ApprovalStore, Notification } from '../../shared/drivers/ports.ts';
import { consoleUrl, requestApprovalStep } from '../../shared/recovery/approval.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../shared/recovery/run.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';

const SECRET = 'request-secret';
const NOW_MS = 1_800_000_000_500;
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:run-5';

let forget: () => void;
beforeAll(() => {
  forget = registerFilledTargets();
});
afterAll(() => forget());

function world(links: boolean) {
  const stored: ApprovalRecord[] = [];
  const published: Notification[] = [];
  const store: ApprovalStore = {
    put: async (record) => void stored.push(record),
    get: async () => undefined,
    answer: async () => {
      throw new Error('not answered here');
    },
    reopen: async () => {
      throw new Error('not reopened here');
    },
  };
  const deps = recoveryDepsWith({
    now: () => NOW_MS,
    approvals: () => store,
    notifier: () => ({ publish: async (n: Notification) => void published.push(n) }),
    approvalLinks: async () => (links ? { baseUrl: 'https://api.example.com', secret: SECRET } : undefined),
  });
  return { stored, published, deps };
}

const sign = (decision: string, expires: number) =>
  createHmac('sha256', SECRET).update(`stepops-approval\nrun-5\n${decision}\n${expires}`).digest('hex');

describe('the approval request', () => {
  it('stores the token until now + the approval timeout and sends the signed links of that expiry', async () => {
    // Prepare
    const { stored, published, deps } = world(true);
    const plan = planRecoveryStep(
      {
        input: { target: 'datizmo', runbook: 'restore-database', reason: 'migration broke' },
        runId: 'run-5',
      },
      deps,
    );
    const expires = 1_800_000_000 + plan.approval.timeoutSeconds;

    // Act
    const answer = await requestApprovalStep(
      {
        taskToken: 'token-5',
        plan,
        executionId: ARN,
        context: { instanceIds: [], steps: {}, checks: ['snapshot found'] },
      },
      deps,
    );

    // Assess
    expect(plan.approval.timeoutSeconds).toBeGreaterThan(0);
    expect(stored).toEqual([
      {
        runId: 'run-5',
        target: 'datizmo',
        runbook: 'restore-database',
        token: 'token-5',
        expiresAt: expires,
        status: 'pending',
      },
    ]);
    expect(answer).toEqual({ requested: true, expiresAt: new Date(expires * 1000).toISOString() });
    expect(published).toHaveLength(1);
    const [n] = published;
    expect(n).toMatchObject({
      target: 'datizmo',
      workflow: 'recover',
      outcome: 'awaiting-approval',
      runId: 'run-5',
      executionUrl: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${ARN}`,
      at: new Date(NOW_MS).toISOString(),
      actions: [
        {
          label: 'Approve',
          url: `https://api.example.com/approvals/run-5/approve?expires=${expires}&signature=${sign('approved', expires)}`,
        },
        {
          label: 'Reject',
          url: `https://api.example.com/approvals/run-5/reject?expires=${expires}&signature=${sign('rejected', expires)}`,
        },
      ],
    });
    expect(n!.summary).toBe(
      `recovery "restore-database" of datizmo waits for approval until ${new Date(expires * 1000).toISOString()} (destructive steps: restore-rds); answer with \`stepops approve run-5\` or \`stepops reject run-5\` or the links`,
    );
    // What each step will change first, then the plan and what the pre-flight checked.
    expect(n!.cause).toMatch(/^the steps will act on:\nstep 1 restore-rds \(restore-rds, destructive\)/);
    expect(n!.cause?.endsWith(`\n\n${plan.planText}\n\nchecked: snapshot found`)).toBe(true);
  });

  it('sends no links and no console link for a local run', async () => {
    // Prepare
    const { published, deps } = world(false);
    const plan = planRecoveryStep(
      { input: { target: 'datizmo', runbook: 'restore-database', reason: 'test' }, runId: 'run-5' },
      deps,
    );

    // Act
    await requestApprovalStep(
      {
        taskToken: 't',
        plan,
        executionId: 'arn:aws:states:local:0:execution:x:run-5',
        context: { instanceIds: [], steps: {}, checks: [] },
      },
      deps,
    );

    // Assess
    expect(published[0]).not.toHaveProperty('actions');
    expect(published[0]).not.toHaveProperty('executionUrl');
    expect(published[0]!.summary).toMatch(/`stepops reject run-5`$/);
    expect(published[0]!.cause?.endsWith(`\n\n${plan.planText}\n`)).toBe(true);
  });

  it('links an AWS execution to its console page and nothing else', () => {
    expect(consoleUrl('arn:aws:states:us-east-2:1:execution:m:r')).toBe(
      'https://us-east-2.console.aws.amazon.com/states/home?region=us-east-2#/v2/executions/details/arn:aws:states:us-east-2:1:execution:m:r',
    );
    expect(consoleUrl('arn:aws:states:local:1:execution:m:r')).toBeUndefined();
    expect(consoleUrl('run-1')).toBeUndefined();
  });
});
