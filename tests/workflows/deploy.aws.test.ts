/**
 * A two-host web target with a database migration behind an ALB, planned and deployed by the real
 * deploy workflow on the local engine with the real handlers and the AWS adapters, every AWS client
 * mocked at the command level (SSM, EC2, ELBv2, SNS, DynamoDB). The SSM mock runs each script it is
 * sent with bash, once per instance (with `AWS_SSM_INSTANCE_ID` set as SSM sets it), so what the
 * hosts would do is real; the ELBv2 mock drains and registers targets as ELBv2 reports them.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeInstanceStatusCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createLocalDeployEngine } from '../../functions/index.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../shared/config/registry.ts';
import { planDeploy } from '../../shared/deploy/plan.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import { CallLog } from '../fakes/common.ts';
import { type FakeSsm, fakeSsm } from '../fakes/ssm.ts';
import '../iam/record-calls.ts';

const REGION = 'eu-west-1';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
const TABLE = 'stepops-test-state';
const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
const WEB_1 = 'i-0aaaaaaaaaaaaaaa1';
const WEB_2 = 'i-0aaaaaaaaaaaaaaa2';

let ssm: FakeSsm;
const ec2 = mockClient(EC2Client);
const elb = mockClient(ElasticLoadBalancingV2Client);
const sns = mockClient(SNSClient);
const dynamo = mockClient(DynamoDBClient);

/** Every AWS call in order, as `service:Command` with its input (the SSM fake writes here too). */
const ssmLog = new CallLog();
const calls: { call: string; input: Record<string, unknown>; error?: string }[] = ssmLog.calls;
const log = (call: string, input: object) => calls.push({ call, input: input as Record<string, unknown> });

let workdir: string;
const saved = { ...process.env };

/**
 * SSM is the shared fake (tests/fakes/ssm.ts): each script it is sent runs with bash, once per
 * instance, and it answers as SSM does (InvocationDoesNotExist right after a send, the first 24,000
 * characters of stdout, ListCommands filter times without milliseconds, throttling of bursts).
 */
function mockSsm(): FakeSsm {
  const fake = fakeSsm(ssmLog, {
    run: (script, instance, { comment }) => {
      if (comment.includes(' rollback ')) impaired.delete(instance);
      const result = spawnSync('bash', ['-c', script], {
        cwd: workdir,
        encoding: 'utf8',
        env: {
          PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bin',
          AWS_SSM_INSTANCE_ID: instance,
        },
      });
      return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
    },
  });
  fake.online.add(WEB_1);
  fake.online.add(WEB_2);
  return fake;
}

/** Instances whose status checks fail until a rollback command reaches them. */
const impaired = new Set<string>();

function mockEc2(): void {
  ec2.on(DescribeInstancesCommand).callsFake((input) => {
    log('ec2:DescribeInstances', input);
    return { Reservations: [{ Instances: [{ InstanceId: WEB_1 }, { InstanceId: WEB_2 }] }] };
  });
  ec2.on(DescribeInstanceStatusCommand).callsFake((input) => {
    log('ec2:DescribeInstanceStatus', input);
    return {
      InstanceStatuses: (input.InstanceIds ?? []).map((InstanceId: string) => ({
        InstanceId,
        InstanceState: { Name: 'running' },
        InstanceStatus: { Status: impaired.has(InstanceId) ? 'impaired' : 'ok' },
        SystemStatus: { Status: 'ok' },
      })),
    };
  });
}

/** ELBv2 as it reports targets: draining once after deregistration, initial once after registration. */
function mockElb(): void {
  const members = new Map<string, string[]>([
    [WEB_1, ['healthy']],
    [WEB_2, ['healthy']],
  ]);
  elb.on(DeregisterTargetsCommand).callsFake((input) => {
    log('elbv2:DeregisterTargets', input);
    for (const t of input.Targets) members.set(t.Id, ['draining', 'unused']);
    return {};
  });
  elb.on(RegisterTargetsCommand).callsFake((input) => {
    log('elbv2:RegisterTargets', input);
    for (const t of input.Targets) members.set(t.Id, ['initial', 'healthy']);
    return {};
  });
  elb.on(DescribeTargetHealthCommand).callsFake((input) => {
    log('elbv2:DescribeTargetHealth', input);
    return {
      TargetHealthDescriptions: (input.Targets ?? []).map((t: { Id: string }) => {
        const states = members.get(t.Id) ?? ['unused'];
        const state = states.length > 1 ? (states.shift() as string) : (states[0] as string);
        const reason = {
          draining: 'Target.DeregistrationInProgress',
          unused: 'Target.NotRegistered',
          initial: 'Elb.InitialHealthChecking',
        }[state];
        return {
          Target: { Id: t.Id, Port: 80 },
          TargetHealth: { State: state, ...(reason ? { Reason: reason } : {}) },
        };
      }),
    };
  });
}

/** A one-table DynamoDB for the lease: conditional put, get, conditional delete. */
function mockDynamo(): void {
  const items = new Map<string, Record<string, { S?: string; N?: string }>>();
  dynamo.on(PutItemCommand).callsFake((input) => {
    log('dynamodb:PutItem', input);
    const key = input.Item.pk.S as string;
    const existing = items.get(key);
    const now = Number(input.ExpressionAttributeValues[':now'].N);
    if (existing && existing.owner?.S !== input.Item.owner.S && Number(existing.expiresAt?.N) >= now) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
    items.set(key, input.Item);
    return {};
  });
  dynamo.on(GetItemCommand).callsFake((input) => {
    log('dynamodb:GetItem', input);
    return { Item: items.get(input.Key.pk.S) };
  });
  dynamo.on(DeleteItemCommand).callsFake((input) => {
    log('dynamodb:DeleteItem', input);
    items.delete(input.Key.pk.S);
    return {};
  });
}

beforeAll(() => {
  workdir = mkdtempSync(path.join(tmpdir(), 'stepops-web-'));
  Object.assign(process.env, {
    AWS_REGION: REGION,
    STEPOPS_STATE_TABLE: TABLE,
    STEPOPS_ALERTS_TOPIC_ARN: TOPIC,
    STEPOPS_HOME: path.join(workdir, '.stepops'),
  });
  ssm = mockSsm();
  mockEc2();
  mockElb();
  mockDynamo();
  sns.on(PublishCommand).callsFake((input) => {
    log('sns:Publish', input);
    return { MessageId: randomUUID() };
  });
  registerTarget({
    name: 'web-two',
    description: 'two web hosts behind an ALB, one database migrated once',
    hosts: {
      type: 'ec2',
      region: REGION,
      instanceIds: [WEB_1, WEB_2],
      user: 'root',
      workingDirectory: workdir,
    },
    deploy: {
      verify: [{ name: 'ref-exists', script: 'test "$STEPOPS_REF" = v2.0.0', timeout: 30 }],
      steps: [
        { name: 'release', script: 'echo "$STEPOPS_REF" > "release-$STEPOPS_HOST_INDEX"', timeout: 30 },
        {
          name: 'migrate',
          script:
            'echo "migrate $STEPOPS_REF on host $STEPOPS_HOST_INDEX of $STEPOPS_HOST_COUNT ($AWS_SSM_INSTANCE_ID)" >> migrations.log',
          timeout: 60,
          runOnce: true,
        },
        { name: 'restart', script: 'echo "restarted $AWS_SSM_INSTANCE_ID"', timeout: 30 },
      ],
      rollback: [{ name: 'back', script: 'echo back', timeout: 30 }],
      batches: { size: 1, maxErrors: 0 },
      healthGate: { probes: ['instance'], timeout: 30, interval: 1, successes: 1 },
      loadBalancer: { targetGroups: [GROUP], drainTimeout: 60, healthyTimeout: 60 },
    },
    health: { schedule: 'rate(1 minute)', probes: [{ name: 'instance', type: 'ec2-status' }] },
  });
  const base = findTarget('web-two');
  registerTarget({
    ...base,
    name: 'web-two-fail',
    deploy: { ...base.deploy!, healthGate: { probes: ['instance'], timeout: 3, interval: 1, successes: 1 } },
  });
});

afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  ssm.restore();
  for (const mock of [ec2, elb, sns, dynamo]) mock.restore();
  rmSync(workdir, { recursive: true, force: true });
});

describe('a two-host web target with a migration behind an ALB, on AWS (clients mocked, SSM faked)', () => {
  it('plans the scripts each host will run, with the migration guarded to host 0', () => {
    // Act
    const plan = planDeploy(findTarget('web-two'), 'v2.0.0', 'plan-run', {
      ids: [WEB_2],
      first: 1,
      count: 2,
    });

    // Assess
    expect(plan.loadBalancer).toEqual({
      targetGroups: [GROUP],
      drainTimeoutSeconds: 60,
      healthyTimeoutSeconds: 60,
    });
    expect(plan.verifyScript).toContain('ref-exists');
    expect(plan.deployScript).toContain(`'${WEB_2}') STEPOPS_HOST_INDEX=1 ;;`);
    expect(plan.deployScript).toContain('if [ "$STEPOPS_HOST_INDEX" = 0 ]; then');
  });

  it('deploys batch by batch from the first SendCommand to the last notification, in order', async () => {
    // Act
    const result = await createLocalDeployEngine().start(
      { target: 'web-two', ref: 'v2.0.0', reason: 'release 2.0.0' },
      { executionName: 'web-two-run-1' },
    ).result;

    // Assess: the outcome
    expect(result.status, JSON.stringify(result.error)).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      outcome: 'succeeded',
      summary: 'deployed v2.0.0 to 2 hosts of web-two in 2 batches',
    });

    // The hosts: both released; the migration ran once, on the first host of the first batch.
    expect(readFileSync(path.join(workdir, 'release-0'), 'utf8').trim()).toBe('v2.0.0');
    expect(readFileSync(path.join(workdir, 'release-1'), 'utf8').trim()).toBe('v2.0.0');
    expect(readFileSync(path.join(workdir, 'migrations.log'), 'utf8')).toBe(
      `migrate v2.0.0 on host 0 of 2 (${WEB_1})\n`,
    );

    // The calls that change something or decide, in order (status reads collapsed)
    const order = calls
      .map((c) => c.call)
      .filter((c, i, all) => c !== all[i - 1] || !/Describe|GetCommandInvocation|ListCommands/.test(c));
    const first = order.indexOf('ssm:SendCommand');
    expect(order.slice(first)).toEqual([
      'ssm:SendCommand', // verify, on both instances
      'ssm:ListCommands', // the command as a whole, then each instance
      'ssm:GetCommandInvocation', // InvocationDoesNotExist right after the send: read again
      'ssm:ListCommands',
      'ssm:GetCommandInvocation',
      // batch 1: WEB_1 out, deployed, gated, in again
      'elbv2:DeregisterTargets',
      'elbv2:DescribeTargetHealth',
      'dynamodb:GetItem', // send-command: this run still holds the lease; renew it
      'dynamodb:PutItem',
      'ssm:ListCommands',
      'ssm:SendCommand',
      'ssm:GetCommandInvocation',
      'ec2:DescribeInstanceStatus',
      'elbv2:RegisterTargets',
      'elbv2:DescribeTargetHealth',
      // batch 2: WEB_2
      'elbv2:DeregisterTargets',
      'elbv2:DescribeTargetHealth',
      'dynamodb:GetItem', // send-command: this run still holds the lease; renew it
      'dynamodb:PutItem',
      'ssm:ListCommands',
      'ssm:SendCommand',
      'ssm:GetCommandInvocation',
      'ec2:DescribeInstanceStatus',
      'elbv2:RegisterTargets',
      'elbv2:DescribeTargetHealth',
      'dynamodb:DeleteItem',
      'sns:Publish',
    ]);
    expect(order.slice(0, first)).toEqual([
      'dynamodb:PutItem',
      'ec2:DescribeInstances',
      'ssm:DescribeInstanceInformation',
      'dynamodb:GetItem', // the verify send renews the lease too
      'dynamodb:PutItem',
      'ssm:ListCommands',
    ]);

    // Their inputs
    const of = (call: string) => calls.filter((c) => c.call === call).map((c) => c.input);
    const sends = of('ssm:SendCommand');
    expect(sends.map((s) => s.InstanceIds)).toEqual([[WEB_1, WEB_2], [WEB_1], [WEB_2]]);
    expect(sends.map((s) => s.DocumentName)).toEqual([
      'AWS-RunShellScript',
      'AWS-RunShellScript',
      'AWS-RunShellScript',
    ]);
    expect(sends.map((s) => String(s.Comment))).toEqual([
      expect.stringMatching(/^stepops:[0-9a-f]{16}\.0 stepops verify web-two v2\.0\.0 run web-two-run-1$/),
      expect.stringMatching(/stepops deploy web-two v2\.0\.0 batch 1 run web-two-run-1$/),
      expect.stringMatching(/stepops deploy web-two v2\.0\.0 batch 2 run web-two-run-1$/),
    ]);
    expect(of('elbv2:DeregisterTargets')).toEqual([
      { TargetGroupArn: GROUP, Targets: [{ Id: WEB_1 }] },
      { TargetGroupArn: GROUP, Targets: [{ Id: WEB_2 }] },
    ]);
    expect(of('elbv2:RegisterTargets')).toEqual([
      { TargetGroupArn: GROUP, Targets: [{ Id: WEB_1 }] },
      { TargetGroupArn: GROUP, Targets: [{ Id: WEB_2 }] },
    ]);
    // Each batch waited for its host to drain (draining, then unused) and to be healthy (initial, then healthy).
    expect(of('elbv2:DescribeTargetHealth')).toHaveLength(8);
    expect(of('ec2:DescribeInstanceStatus')).toEqual([
      { InstanceIds: [WEB_1], IncludeAllInstances: true },
      { InstanceIds: [WEB_2], IncludeAllInstances: true },
    ]);
    expect(of('dynamodb:PutItem').every((p) => p.TableName === TABLE)).toBe(true);
    expect(of('dynamodb:DeleteItem')).toEqual([
      expect.objectContaining({
        TableName: TABLE,
        Key: { pk: { S: expect.stringContaining('target:web-two') } },
      }),
    ]);
    const [publish] = of('sns:Publish');
    expect(publish).toMatchObject({
      TopicArn: TOPIC,
      MessageAttributes: {
        target: { DataType: 'String', StringValue: 'web-two' },
        workflow: { DataType: 'String', StringValue: 'deploy' },
        outcome: { DataType: 'String', StringValue: 'succeeded' },
      },
    });
    expect(JSON.parse(String(publish?.Message)) as Notification).toMatchObject({
      target: 'web-two',
      outcome: 'succeeded',
      ref: 'v2.0.0',
      runId: 'web-two-run-1',
    });
  });

  it('a burst of throttled SSM calls never rolls back a healthy deploy', async () => {
    // Prepare: SSM throttles the next reads and lists, the idempotency check of a send included
    calls.length = 0;
    ssm.switches.throttle.GetCommandInvocation = 4;
    ssm.switches.throttle.ListCommands = 3;

    // Act
    const result = await createLocalDeployEngine().start(
      { target: 'web-two', ref: 'v2.0.0' },
      {
        executionName: 'web-two-run-throttled',
        retryIntervalOverrides: {
          SendVerifyCommand: 0,
          SendDeployCommand: 0,
          WaitForVerify: 0,
          WaitForDeploy: 0,
        },
      },
    ).result;

    // Assess: throttled, yet deployed, and nothing rolled back
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(ssm.throttled.get('GetCommandInvocation')).toBe(4);
    expect(ssm.throttled.get('ListCommands')).toBe(3);
    const comments = calls
      .filter((c) => c.call === 'ssm:SendCommand' && !c.error)
      .map((c) => String(c.input.Comment));
    expect(comments.some((c) => c.includes(' rollback '))).toBe(false);
    expect(comments).toHaveLength(3);
    // ListCommands filters in the format SSM documents: whole seconds, no milliseconds.
    const after = calls
      .filter((c) => c.call === 'ssm:ListCommands' && c.input.Filters)
      .map(
        (c) =>
          (c.input.Filters as { key: string; value: string }[]).find((f) => f.key === 'InvokedAfter')?.value,
      );
    expect(after.length).toBeGreaterThan(0);
    for (const value of after) expect(value).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('rolls back through the load balancer: both hosts out, rolled back, gated, and in again', async () => {
    // Prepare: the second host's status checks fail after its deploy, until it is rolled back
    calls.length = 0;
    impaired.add(WEB_2);

    // Act
    const result = await createLocalDeployEngine().start(
      { target: 'web-two-fail', ref: 'v2.0.0' },
      { executionName: 'web-two-run-2' },
    ).result;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployFailedError');
    const order = calls
      .map((c) => c.call)
      .filter((c) => /Deregister|RegisterTargets|SendCommand|DeleteItem|Publish/.test(c));
    expect(order).toEqual([
      'ssm:SendCommand', // verify
      'elbv2:DeregisterTargets',
      'ssm:SendCommand', // batch 1
      'elbv2:RegisterTargets',
      'elbv2:DeregisterTargets',
      'ssm:SendCommand', // batch 2: its gate fails
      'elbv2:DeregisterTargets', // the rollback takes both hosts out
      'ssm:SendCommand',
      'elbv2:RegisterTargets', // and back in once healthy
      'dynamodb:DeleteItem',
      'sns:Publish',
    ]);
    const of = (call: string) => calls.filter((c) => c.call === call).map((c) => c.input);
    expect(of('elbv2:DeregisterTargets').at(-1)).toEqual({
      TargetGroupArn: GROUP,
      Targets: [{ Id: WEB_1 }, { Id: WEB_2 }],
    });
    expect(of('elbv2:RegisterTargets').at(-1)).toEqual({
      TargetGroupArn: GROUP,
      Targets: [{ Id: WEB_1 }, { Id: WEB_2 }],
    });
    const rollback = of('ssm:SendCommand').at(-1);
    expect(rollback?.InstanceIds).toEqual([WEB_1, WEB_2]);
    expect(String(rollback?.Comment)).toContain('stepops rollback web-two-fail v2.0.0 run web-two-run-2');
    const publish = of('sns:Publish').at(-1);
    expect(publish?.MessageAttributes).toMatchObject({
      outcome: { DataType: 'String', StringValue: 'rolled-back' },
    });
    expect(JSON.parse(String(publish?.Message))).toMatchObject({ failedState: 'CheckHealth', host: WEB_2 });
  });
});
