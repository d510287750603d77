/**
 * The health functions through their real handlers in the stage's configuration (the environment
 * stacks/health.ts gives them): check-target finds the target's instances, runs its host probes as
 * one SSM command, asks EC2 and SSM about the instance, folds the round into the state item, reads
 * the target's lease, alerts and starts the recovery runbook; notify-health-failure alerts that a
 * run could not check. AWS is mocked at the command level; every call is recorded and checked
 * against each function's IAM policy as the stacks render it, and every permission those policies
 * grant must be used by a call (this replaces a hand-kept list of actions in the stack's test).
 */
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeInstanceStatusCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // What stacks/health.ts gives the health functions in a stage named `test`.
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
  process.env.STEPOPS_RECOVER_STATE_MACHINE_ARN =
    'arn:aws:states:eu-west-1:123456789012:stateMachine:stepops-test-recover';
  return before;
});

import { clearRegisteredTargets, findTarget, registerTarget } from '../../shared/config/registry.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import type { Ec2Target } from '../../stacks/settings.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { checkCalls, formatDenials, unusedPermissions } from './check.ts';
import { expectRecordedCallsAllowed, stagePolicies } from './record-calls.ts';
import { recordedCalls } from './recorder.ts';

const TARGET = 'watched';
const INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const SECOND = 'i-0aaaaaaaaaaaaaaa2';
const dynamo = mockClient(DynamoDBClient);
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
const sfn = mockClient(SFNClient);
/** The state table's items by `pk`. */
const items = new Map<string, Record<string, AttributeValue>>();

function invoke<T>(functionName: string, event: unknown): Promise<T> {
  return withinInvocation({ functionName }, async () => {
    const { handler } = (await import(`../../functions/${functionName}/handler.ts`)) as {
      handler: (event: unknown, context: unknown) => Promise<T>;
    };
    return handler(
      event,
      createLambdaContext({
        arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
        timeoutSeconds: 60,
      }),
    );
  });
}

/** One probe's result line, as the round's script prints it on the host. */
const probeLine = (name: string, code: number, output: string) =>
  `STEPOPS_PROBE ${name} ${code} ${Buffer.byteLength(output)} ${Buffer.from(output).toString('base64')}`;

beforeAll(() => {
  registerTarget({
    name: TARGET,
    description: 'two instances, their API probed from the host, restarted when it is down',
    hosts: {
      type: 'ec2',
      region: REGION,
      tags: { App: TARGET },
      user: 'ubuntu',
      workingDirectory: '/srv/app',
    },
    health: {
      schedule: 'rate(1 minute)',
      failureThreshold: 1,
      probes: [
        { name: 'api-local', type: 'http', from: 'host', url: 'http://127.0.0.1:8080/health', timeout: 5 },
        { name: 'instance-status', runbook: false, type: 'ec2-status' },
        { name: 'ssm-agent', runbook: false, type: 'ssm-agent' },
      ],
      onFailure: { runbook: 'restart-api' },
    },
    recovery: {
      'restart-api': {
        description: 'API not responding: restart it.',
        steps: [{ type: 'restart', name: 'restart-api', manager: 'systemd', services: ['app-api'] }],
        verify: ['api-local'],
      },
    },
  } as never);
  // The instance carries the tag stepops gives the instances of its targets.
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [INSTANCE, SECOND].map((InstanceId) => ({
          InstanceId,
          State: { Name: 'running' as const },
          Tags: [
            { Key: 'App', Value: TARGET },
            { Key: 'stepops:target', Value: TARGET },
          ],
        })),
      },
    ],
  });
  ec2.on(DescribeInstanceStatusCommand).resolves({
    InstanceStatuses: [INSTANCE, SECOND].map((InstanceId) => ({
      InstanceId,
      InstanceState: { Name: 'running' as const },
      InstanceStatus: { Status: 'ok' as const },
      SystemStatus: { Status: 'ok' as const },
    })),
  });
  ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: [INSTANCE, SECOND].map((InstanceId) => ({
      InstanceId,
      PingStatus: 'Online' as const,
    })),
  });
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
  ssm.on(ListCommandsCommand).resolves({
    Commands: [{ CommandId: 'cmd-1', Status: 'Success', TargetCount: 2, CompletedCount: 2 }],
  });
  ssm.on(GetCommandInvocationCommand).resolves({
    Status: 'Success',
    ResponseCode: 0,
    StandardOutputContent: `${probeLine('api-local', 0, 'STEPOPS_HTTP 503 0.004 4\ndown')}\n`,
  });
  dynamo.on(GetItemCommand).callsFake((input) => {
    const item = items.get(String(input.Key.pk?.S));
    return item ? { Item: item } : {};
  });
  // The health store writes on the version it read: its condition is evaluated on dynalite in
  // tests/unit/drivers/dynamo-health-store.test.ts; this table keeps what it is given.
  dynamo.on(PutItemCommand).callsFake((input) => {
    items.set(String(input.Item.pk?.S), input.Item);
    return {};
  });
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  sfn.on(StartExecutionCommand).callsFake(({ name }: { name: string }) => ({
    executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-recover:${name}`,
    startDate: new Date(),
  }));
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  for (const client of [dynamo, ec2, ssm, sns, sfn]) client.restore();
});

describe('the health functions', () => {
  it('check-target finds the API down from the host, alerts and starts the restart runbook', async () => {
    // Act
    const summary = await invoke<{ down: number; recovery?: { runbook: string; started: boolean } }>(
      'check-target',
      { target: TARGET, runId: 'health-1' },
    );

    // Assess
    expect(summary.down).toBeGreaterThanOrEqual(1);
    expect(summary.recovery).toMatchObject({ runbook: 'restart-api', started: true });
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { InstanceIds: [INSTANCE, SECOND] });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: process.env.STEPOPS_RECOVER_STATE_MACHINE_ARN,
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: process.env.STEPOPS_ALERTS_TOPIC_ARN });
  });

  it('notify-health-failure alerts that a run could not check', async () => {
    // Act
    await invoke('notify-health-failure', {
      target: TARGET,
      runId: 'health-2',
      failedState: 'CheckTarget',
      error: { Error: 'States.Timeout', Cause: 'the task timed out' },
    });

    // Assess
    const message = String(sns.commandCalls(PublishCommand).at(-1)?.args[0].input.Message);
    expect(message).toContain('CheckTarget');
  });

  it('check-target counts a maintenance lease only while its execution runs: a stopped run mutes nothing', async () => {
    // Prepare: a maintenance run muting every probe left its lease; its execution was stopped
    const execution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-maintenance:mt-stopped`;
    items.set(`lease#target:${TARGET}`, {
      pk: { S: `lease#target:${TARGET}` },
      leaseKey: { S: `target:${TARGET}` },
      owner: { S: 'mt-stopped' },
      expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
      execution: { S: execution },
      maintenance: { M: { job: { S: 'tidy' }, mute: { L: [{ S: 'api-local' }] } } },
    });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' } as never);

    // Act
    const summary = await invoke<{ down: number; maintenance?: string }>('check-target', {
      target: TARGET,
      runId: 'health-3',
    }).finally(() => items.delete(`lease#target:${TARGET}`));

    // Assess: asked about that execution, and the probe counted (not muted)
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: execution },
    ]);
    expect(summary.down).toBeGreaterThanOrEqual(1);
    expect(summary.maintenance).toBeUndefined();
  });

  it("check-target mutes while the deploy run holding the lease runs: it asks about the execution the lease names, not its owner's run id", async () => {
    // Prepare: a deploy run (its owner the execution's name) holds the lease; its execution runs
    const runId = `${TARGET}-3f2a1b`;
    const execution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-deploy:${runId}`;
    items.set(`lease#target:${TARGET}`, {
      pk: { S: `lease#target:${TARGET}` },
      leaseKey: { S: `target:${TARGET}` },
      owner: { S: runId },
      expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
      execution: { S: execution },
    });
    sfn.on(DescribeExecutionCommand, { executionArn: execution }).resolves({ status: 'RUNNING' } as never);
    const published = sns.commandCalls(PublishCommand).length;

    // Act
    const summary = await invoke<{ down: number; maintenance?: string }>('check-target', {
      target: TARGET,
      runId: 'health-4',
    }).finally(() => items.delete(`lease#target:${TARGET}`));

    // Assess: asked about that execution; the round is muted, nothing published
    expect(
      sfn.commandCalls(DescribeExecutionCommand).filter((c) => c.args[0].input.executionArn === execution),
    ).toHaveLength(1);
    expect(summary.maintenance).toBe(`run ${runId} (a deploy, recovery or maintenance of ${TARGET})`);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(published);
  });

  it('uses every permission the stacks grant the health functions: none is granted beyond their calls', async () => {
    // Prepare: the calls of this file's health functions, and the stage's policies
    const calls = await Promise.all(
      recordedCalls()
        .filter((c) => c.functionName === 'check-target' || c.functionName === 'notify-health-failure')
        .map(async (c) => ({ ...c, region: (await c.region) ?? REGION })),
    );
    const policies = await stagePolicies([findTarget(TARGET) as Ec2Target]);

    // Act
    const result = await checkCalls(calls, policies);

    // Assess
    expect(formatDenials(result.denials)).toBe('');
    expect(unusedPermissions(result.used, policies)).toEqual([]);
    expect([...result.used.keys()].sort()).toEqual(['check-target', 'notify-health-failure']);
  }, 600_000);

  it("sends only calls each function's IAM policy allows, as the stacks render it", async () => {
    await expectRecordedCallsAllowed();
  }, 600_000);
});
