/**
 * The stack's answers to runs that fail where no Catch can see them, and to what their logs may
 * hold, under Pulumi's mock runtime: the EventBridge rule on Step Functions execution status
 * changes that sends them to the alerts topic (and the topic policy that lets only that rule
 * publish), the state machine logs that never hold a task token, and the command log group.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { type MockRun, runUnderMocks } from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

const COMMAND_LOG_GROUP = '/stepops/test/commands';
let run: MockRun<Record<string, string>>;

beforeAll(async () => {
  ensureSstPlatform();
  registerFilledTargets();
  const saved = process.env.STEPOPS_COMMAND_LOG_GROUP;
  process.env.STEPOPS_COMMAND_LOG_GROUP = COMMAND_LOG_GROUP;
  try {
    run = (await runUnderMocks(async () =>
      (await import('../../stacks/index.ts')).createStacks(),
    )) as unknown as MockRun<Record<string, string>>;
  } finally {
    if (saved === undefined) delete process.env.STEPOPS_COMMAND_LOG_GROUP;
    else process.env.STEPOPS_COMMAND_LOG_GROUP = saved;
  }
});

function machineArn(component: string): string {
  return String(run.one('aws:sfn/stateMachine:StateMachine', component).state.arn);
}

describe('runs that end where no Catch can see it', () => {
  it('match an EventBridge rule on FAILED, TIMED_OUT and ABORTED executions of the Standard workflows', () => {
    // Prepare
    const rule = run.one('aws:cloudwatch/eventRule:EventRule', 'RunFailureRule');

    // Assess
    const pattern = JSON.parse(String(rule.inputs.eventPattern));
    expect(pattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        stateMachineArn: [
          machineArn('DeployWorkflow'),
          machineArn('BackupWorkflow'),
          machineArn('RecoverWorkflow'),
          machineArn('MaintainWorkflow'),
        ],
      },
    });
  });

  it('go to the alerts topic, which only that rule may publish to as EventBridge', () => {
    // Prepare
    const rule = run.one('aws:cloudwatch/eventRule:EventRule', 'RunFailureRule');
    const target = run.one('aws:cloudwatch/eventTarget:EventTarget', 'RunFailureTarget');
    const topic = run.one('aws:sns/topic:Topic', /Alerts/);
    const policy = run.one('aws:sns/topicPolicy:TopicPolicy', 'AlertsTopicPolicy');

    // Assess
    // The only policy of the topic: a second one would replace it.
    expect(run.ofType('aws:sns/topicPolicy:TopicPolicy')).toHaveLength(1);
    expect(target.inputs.rule).toBe(rule.state.name);
    expect(target.inputs.arn).toBe(topic.state.arn);
    expect(policy.inputs.arn).toBe(topic.state.arn);
    expect(JSON.parse(String(policy.inputs.policy)).Statement).toEqual([
      {
        Sid: 'RunFailureEvents',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topic.state.arn,
        Condition: { ArnEquals: { 'aws:SourceArn': rule.state.arn } },
      },
    ]);
  });
});

describe('state machine logs', () => {
  it('leave out execution data for the recovery workflow, whose approval Task takes a task token', () => {
    const recover = run.one('aws:sfn/stateMachine:StateMachine', 'RecoverWorkflow');
    expect(String(recover.inputs.definition)).toContain('$$.Task.Token');
    expect(recover.inputs.loggingConfiguration).toMatchObject({ includeExecutionData: false, level: 'ALL' });
  });

  it('keep execution data for the workflows without a callback Task', () => {
    for (const component of ['DeployWorkflow', 'BackupWorkflow', 'MaintainWorkflow']) {
      const machine = run.one('aws:sfn/stateMachine:StateMachine', component);
      expect(String(machine.inputs.definition)).not.toContain('$$.Task.Token');
      expect(machine.inputs.loggingConfiguration, component).toMatchObject({ includeExecutionData: true });
    }
  });
});

describe('the command log group', () => {
  it('is created with the name STEPOPS_COMMAND_LOG_GROUP gives and a retention', () => {
    const group = run.one('aws:cloudwatch/logGroup:LogGroup', 'CommandLogs');
    expect(group.inputs).toMatchObject({ name: COMMAND_LOG_GROUP, retentionInDays: 90 });
  });
});
