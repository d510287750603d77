/**
 * The maintenance stack under Pulumi's mock runtime: its functions and their IAM (least privilege),
 * the state machine (exactly maintainWorkflow() with the deployed ARNs) and one EventBridge
 * Scheduler schedule per maintenance job of the stage's targets, in the job's time zone, with a
 * role that may only start maintenance runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { maintainComponentName } from '../../stacks/maintain.ts';
import * as workflow from '../../workflows/maintain.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import {
  ACCOUNT,
  LAMBDA,
  leastPrivilegeProblems,
  type MockRun,
  REGION,
  ROLE,
  runUnderMocks,
  statementsOf,
} from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

let run: MockRun<{ maintenanceStateMachine: string }>;

beforeAll(async () => {
  ensureSstPlatform();
  registerFilledTargets();
  run = (await runUnderMocks(async () =>
    (await import('../../stacks/index.ts')).createStacks(),
  )) as unknown as MockRun<{ maintenanceStateMachine: string }>;
});

const actionsOf = (folder: string) =>
  [...new Set(statementsOf(run, `${maintainComponentName(folder)}Role`).flatMap((s) => s.Action))].sort();

describe('maintenance stack', () => {
  it('creates one nodejs24.x function per maintenance Lambda and the state machine from maintainWorkflow()', () => {
    // Prepare
    const arns = Object.fromEntries(
      workflow.MAINTAIN_FUNCTIONS.map((folder) => [
        folder,
        run.one(LAMBDA, `${maintainComponentName(folder)}Function`).state.arn,
      ]),
    ) as Parameters<typeof workflow.maintainWorkflow>[0];
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'MaintainWorkflow');

    // Assess
    for (const folder of workflow.MAINTAIN_FUNCTIONS) {
      const fn = run.one(LAMBDA, `${maintainComponentName(folder)}Function`);
      expect(fn.inputs.runtime).toBe('nodejs24.x');
      expect(fn.inputs.timeout).toBe(workflow.MAINTAIN_FUNCTION_TIMEOUTS[folder]);
    }
    expect(JSON.parse(String(machine.inputs.definition))).toEqual(
      JSON.parse(JSON.stringify(workflow.maintainWorkflow(arns))),
    );
    expect(machine.inputs).toMatchObject({ type: 'STANDARD', name: 'stepops-test-maintenance' });
    expect(run.outputs.maintenanceStateMachine).toBe(machine.state.arn);
  });

  it('grants each function only what it calls, no wildcard action, Resource "*" only where nothing else is taken', async () => {
    // Assess
    for (const folder of workflow.MAINTAIN_FUNCTIONS) {
      const statements = statementsOf(run, `${maintainComponentName(folder)}Role`);
      expect(await leastPrivilegeProblems(statements), folder).toEqual([]);
    }
    expect(actionsOf('plan-maintenance')).toEqual([]);
    expect(actionsOf('notify-maintenance')).toEqual(['sns:Publish']);
    expect(actionsOf('acquire-lock').every((a) => a.startsWith('dynamodb:'))).toBe(true);
    expect(actionsOf('run-maintenance-step')).toEqual(
      // No target of the stage declares a target group: no load-balancer grant (drain and register
      // are granted on declared target groups only).
      [
        'ec2:DescribeInstanceStatus',
        'ec2:DescribeInstances',
        'ssm:DescribeInstanceInformation',
        'ssm:GetCommandInvocation',
        'ssm:ListCommands',
        'ssm:SendCommand',
        'states:DescribeExecution',
      ],
    );
    // Before each batch after the first, the rolling step reads its own execution's status: only
    // the executions of the stage's maintenance state machine (the ARN built from its name).
    expect(
      statementsOf(run, `${maintainComponentName('run-maintenance-step')}Role`)
        .filter((s) => s.Action.includes('states:DescribeExecution'))
        .flatMap((s) => s.Resource),
    ).toEqual([`arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-maintenance:*`]);
    // The lease's release deletes the lease item: the only delete, and only in the lock functions.
    for (const folder of workflow.MAINTAIN_FUNCTIONS.filter(
      (f) => f !== 'release-lock' && f !== 'acquire-lock',
    )) {
      expect(
        actionsOf(folder).filter((a) => /Delete|Terminate|Create/.test(a)),
        folder,
      ).toEqual([]);
    }
  });

  it('schedules each maintenance job in its time zone, starting the maintenance state machine with a role that may do only that', () => {
    // Prepare
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'MaintainWorkflow');
    const schedules = run
      .ofType('aws:scheduler/schedule:Schedule')
      .filter((s) => String(s.inputs.name).includes('-maintain-'));
    const trust = JSON.parse(String(run.one(ROLE, 'MaintainSchedulerRole').inputs.assumeRolePolicy));

    // Assess: datizmo's documented jobs, as targets/datizmo.ts declares them
    const updates = schedules.find((s) => s.inputs.name === 'stepops-test-datizmo-maintain-security-updates');
    expect(updates?.inputs).toMatchObject({
      scheduleExpression: 'cron(0 5 ? * SUN *)',
      scheduleExpressionTimezone: 'America/New_York',
      flexibleTimeWindow: { mode: 'OFF' },
    });
    const target = updates?.inputs.target as { arn: string; roleArn: string; input: string };
    expect(target.arn).toBe(machine.state.arn);
    expect(JSON.parse(target.input)).toEqual({
      target: 'datizmo',
      job: 'security-updates',
      trigger: 'schedule',
      reason: 'schedule cron(0 5 ? * SUN *) America/New_York',
    });
    const certificates = schedules.find(
      (s) => s.inputs.name === 'stepops-test-datizmo-maintain-certificates',
    );
    expect(certificates?.inputs).toMatchObject({
      scheduleExpression: 'cron(15 4 * * ? *)',
      scheduleExpressionTimezone: 'UTC',
    });
    expect(schedules.some((s) => s.inputs.name === 'stepops-test-ai-chat-maintain-update-images')).toBe(true);
    expect(schedules.some((s) => String(s.inputs.name).startsWith('stepops-test-shop-maintain-'))).toBe(
      false,
    );
    expect(statementsOf(run, 'MaintainSchedulerRole')).toEqual([
      {
        Sid: 'StartMaintainRuns',
        Effect: 'Allow',
        Action: ['states:StartExecution'],
        Resource: [machine.state.arn],
      },
    ]);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Statement[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
  });
});
