/**
 * The health stack under Pulumi's mock runtime: the Express state machine (exactly the workflow's
 * definition with the deployed ARNs), its Lambdas with least-privilege IAM, and one scheduled
 * EventBridge rule per target with a health section, through a role allowed only to start it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { findTarget } from '../../shared/config/registry.ts';
import { healthComponentName, scheduleComponentName } from '../../stacks/health.ts';
import * as workflow from '../../workflows/health.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT, LAMBDA, type MockRun, ROLE, runUnderMocks } from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

const RULE = 'aws:cloudwatch/eventRule:EventRule';
const RULE_TARGET = 'aws:cloudwatch/eventTarget:EventTarget';

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

  it('creates one scheduled rule per target with a health section, at its rate, starting the state machine', () => {
    // Prepare
    const targets = run.outputs.targets.split(',');
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');
    const rules = run.ofType(RULE).filter((r) => r.name.startsWith('HealthSchedule'));
    const ruleTargets = run.ofType(RULE_TARGET).filter((t) => t.name.startsWith('HealthSchedule'));

    // Assess: health starts no EventBridge Scheduler schedule (the backup stack has its own)
    expect(run.ofType('aws:scheduler/schedule:Schedule').filter((s) => s.name.startsWith('Health'))).toEqual(
      [],
    );
    expect(rules.map((r) => r.name).sort()).toEqual(targets.map(scheduleComponentName).sort());
    expect(ruleTargets).toHaveLength(rules.length);
    for (const rule of rules) {
      const ruleTarget = run.one(RULE_TARGET, `${rule.name}Target`);
      const input = JSON.parse(String(ruleTarget.inputs.input)) as { target: string };
      expect(rule.inputs.scheduleExpression).toBe(findTarget(input.target).health?.schedule);
      // A schedule runs only on the default bus, which is where a rule without a bus goes.
      expect(rule.inputs.eventBusName).toBeUndefined();
      expect(rule.inputs.name).toBe(`stepops-test-health-${input.target}`);
      expect(ruleTarget.inputs.rule).toBe(rule.state.name);
      expect(ruleTarget.inputs.arn).toBe(machine.state.arn);
      expect(ruleTarget.inputs.roleArn).toBe(run.one(ROLE, 'HealthRuleRole').state.arn);
      expect(ruleTarget.inputs.retryPolicy).toEqual({
        maximumRetryAttempts: 0,
        maximumEventAgeInSeconds: 60,
      });
      expect(targets).toContain(input.target);
    }
  });

  it('lets the rule role only start the health state machine, trusted by EventBridge', () => {
    // Prepare
    const statements = statementsOf('HealthRuleRole');
    const trust = JSON.parse(String(run.one(ROLE, 'HealthRuleRole').inputs.assumeRolePolicy));
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');

    // Assess
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['states:StartExecution'],
        Resource: [machine.state.arn],
      }),
    ]);
    expect(trust.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
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
