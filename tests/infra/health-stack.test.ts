/**
 * The health stack under Pulumi's mock runtime: the Express state machine (exactly the workflow's
 * definition with the deployed ARNs), its Lambdas with least-privilege IAM, and one EventBridge
 * Scheduler schedule per target with a health section, through a role allowed only to start it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { healthComponentName, scheduleComponentName } from '../../stacks/health.ts';
import * as workflow from '../../workflows/health.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT, LAMBDA, type MockRun, ROLE, runUnderMocks } from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

const SCHEDULE = 'aws:scheduler/schedule:Schedule';

interface PolicyStatement {
  Effect: string;
  Action: string[];
  Resource: string[];
}

let run: MockRun<{ targets: string }>;

beforeAll(async () => {
  ensureSstPlatform();
  // The real targets as a user deploys them: with their unfilled(…) values filled in.
  registerFilledTargets();
  run = (await runUnderMocks(async () => (await import('../../stacks/index.ts')).createStacks())) as MockRun<{
    targets: string;
  }>;
});

function statementsOf(roleName: string): PolicyStatement[] {
  const role = run.one(ROLE, roleName);
  const inline = (role.inputs.inlinePolicies ?? []) as { policy: string }[];
  const attached = run
    .ofType('aws:iam/rolePolicy:RolePolicy')
    .filter((p) => p.inputs.role === `${roleName}-id` || p.inputs.role === role.state.name);
  return [...inline.map((p) => p.policy), ...attached.map((p) => String(p.inputs.policy))].flatMap((json) =>
    (JSON.parse(json) as { Statement: PolicyStatement[] }).Statement.map((s) => ({
      ...s,
      Action: [s.Action].flat(),
      Resource: [s.Resource].flat(),
    })),
  );
}

describe('health stack', () => {
  it('defines an Express state machine as exactly healthWorkflow() with the deployed ARNs', () => {
    // Prepare
    // Prepare: no STEPOPS_STATUS_PAGE: no status page, so no publish function
    const deployed = workflow.HEALTH_FUNCTIONS.filter((f) => f !== 'publish-status-page');
    const arns = Object.fromEntries(
      deployed.map((folder) => [folder, run.one(LAMBDA, `${healthComponentName(folder)}Function`).state.arn]),
    ) as Parameters<typeof workflow.healthWorkflow>[0];
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');

    // Assess
    expect(machine.inputs.type).toBe('EXPRESS');
    expect(JSON.parse(String(machine.inputs.definition))).toEqual(
      JSON.parse(JSON.stringify(workflow.healthWorkflow(arns))),
    );
    expect(JSON.parse(String(machine.inputs.definition)).States.PublishStatusPage).toBeUndefined();
    expect(run.ofType(LAMBDA).filter((f) => f.name.startsWith('HealthPublishStatusPage'))).toEqual([]);
    expect(run.ofType('aws:s3/bucket:Bucket').filter((b) => b.name.startsWith('StatusPage'))).toEqual([]);
    for (const folder of deployed) {
      const fn = run.one(LAMBDA, `${healthComponentName(folder)}Function`);
      expect(fn.inputs.runtime).toBe('nodejs24.x');
      expect(fn.inputs.timeout).toBe(workflow.HEALTH_FUNCTION_TIMEOUTS[folder]);
    }
  });

  it('creates one schedule per target with a health section, at its rate, starting the state machine', () => {
    // Prepare
    const targets = run.outputs.targets.split(',');
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');
    // The backup stack has schedules of its own (BackupSchedule…).
    const schedules = run.ofType(SCHEDULE).filter((s) => s.name.startsWith('HealthSchedule'));

    // Assess
    expect(schedules.map((s) => s.name).sort()).toEqual(targets.map(scheduleComponentName).sort());
    for (const schedule of schedules) {
      const target = schedule.inputs.target as { arn: string; roleArn: string; input: string };
      expect(schedule.inputs.scheduleExpression).toMatch(/^(rate|cron)\(/);
      expect(schedule.inputs.flexibleTimeWindow).toEqual({ mode: 'OFF' });
      expect(target.arn).toBe(machine.state.arn);
      expect(target.roleArn).toBe(run.one(ROLE, 'HealthSchedulerRole').state.arn);
      expect(targets).toContain(JSON.parse(target.input).target);
    }
  });

  it('lets the scheduler role only start the health state machine, trusted by the scheduler of this account', () => {
    // Prepare
    const statements = statementsOf('HealthSchedulerRole');
    const trust = JSON.parse(String(run.one(ROLE, 'HealthSchedulerRole').inputs.assumeRolePolicy));
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');

    // Assess
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['states:StartExecution'],
        Resource: [machine.state.arn],
      }),
    ]);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Statement[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
  });

  it('lets check-target start only the stage’s recovery runbooks and write only the state table', () => {
    // Which actions each health function needs is checked from the calls of its real handler
    // (tests/iam/health.test.ts: every call allowed, every granted action used); here, where.
    const check = statementsOf(`${healthComponentName('check-target')}Role`);

    // Assess
    expect(check.find((s) => s.Action.includes('states:StartExecution'))?.Resource).toEqual([
      `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:stepops-test-recover`,
    ]);
    expect(check.find((s) => s.Action.includes('dynamodb:PutItem'))?.Resource).toEqual([
      run.one('aws:dynamodb/table:Table', 'StateTable').state.arn,
    ]);
    // A target's lease counts only while the execution it names runs: only the executions of the
    // stage's state machines that take a target's lease can be read.
    expect(
      check.filter((s) => s.Action.includes('states:DescribeExecution')).flatMap((s) => s.Resource),
    ).toEqual(
      ['deploy', 'recover', 'maintenance'].map(
        (machine) => `arn:aws:states:eu-west-1:${ACCOUNT}:execution:stepops-test-${machine}:*`,
      ),
    );
  });
});
