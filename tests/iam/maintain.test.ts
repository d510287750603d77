/**
 * A maintenance run on ec2 hosts, through the maintenance workflow's ASL on the local engine with
 * the real Lambda modules of `functions/` (each wiring its own drivers, as AWS runs them), on the
 * shared AWS fakes: SSM Run Command (each script run with bash, once per instance), EC2, ELBv2 (each
 * batch drained and registered back), a DynamoDB lease (conditional put, get, conditional delete)
 * and SNS for the outcome. Every call is checked against the function's IAM policy as
 * stacks/maintain.ts renders it.
 */

import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // What stacks/maintain.ts gives every maintenance function in a stage named `test`.
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
  return before;
});

import { clearRegisteredTargets, findTarget, registerTarget } from '../../shared/config/registry.ts';
import { createLocalEngine, type LambdaHandler } from '../../shared/engine/index.ts';
import { planMaintenance } from '../../shared/maintenance/plan.ts';
import { localArns } from '../../workflows/asl.ts';
import { MAINTAIN_FUNCTIONS, maintainWorkflow } from '../../workflows/maintain.ts';
import { CallLog } from '../fakes/common.ts';
import { type AwsFakes, installAwsFakes } from '../fakes/index.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { expectRecordedCallsAllowed } from './record-calls.ts';

const GROUP = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/web/0fedcba987654321`;
const WEB_1 = 'i-0ccccccccccccccc1';
const WEB_2 = 'i-0ccccccccccccccc2';
const TABLE = 'stepops-test-state';
const ARNS = localArns(MAINTAIN_FUNCTIONS);

let aws: AwsFakes;
let workdir: string;
const log = new CallLog();
const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);

/** A one-table DynamoDB for the lease, as the lease store's conditions ask (they run on dynalite in the adapter's own tests). */
/** The state table's lease items by `pk`. */
const items = new Map<string, Record<string, unknown>>();

function mockLeases(): void {
  dynamo.on(PutItemCommand).callsFake((input) => {
    log.calls.push({ call: 'dynamodb:PutItem', input, region: REGION });
    const key = input.Item.pk.S as string;
    const existing = items.get(key) as Record<string, { S?: string; N?: string }> | undefined;
    const now = Number(input.ExpressionAttributeValues?.[':now']?.N ?? 0);
    if (existing && existing.owner?.S !== input.Item.owner?.S && Number(existing.expiresAt?.N) >= now) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
    items.set(key, input.Item);
    return {};
  });
  dynamo.on(GetItemCommand).callsFake((input) => {
    log.calls.push({ call: 'dynamodb:GetItem', input, region: REGION });
    return { Item: items.get(input.Key.pk.S) };
  });
  dynamo.on(DeleteItemCommand).callsFake((input) => {
    log.calls.push({ call: 'dynamodb:DeleteItem', input, region: REGION });
    items.delete(input.Key.pk.S);
    return {};
  });
}

beforeAll(async () => {
  workdir = mkdtempSync(path.join(tmpdir(), 'stepops-mt-aws-'));
  aws = installAwsFakes({
    ssm: {
      run: (script, instance) => {
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
    },
  });
  for (const id of [WEB_1, WEB_2]) {
    aws.ec2.instances.set(id, { id, region: REGION, state: 'running', tags: { 'stepops:target': 'mt-aws' } });
    aws.ssm.online.add(id);
  }
  aws.elbv2.addGroup(GROUP, [WEB_1, WEB_2]);
  mockLeases();
  sns.on(PublishCommand).callsFake((input) => {
    log.calls.push({ call: 'sns:Publish', input, region: REGION });
    return { MessageId: randomUUID() };
  });
  registerTarget({
    name: 'mt-aws',
    description: 'two web hosts behind an ALB, maintained one at a time',
    hosts: { type: 'ec2', region: REGION, tags: { 'stepops:target': 'mt-aws' }, workingDirectory: workdir },
    deploy: {
      steps: [{ name: 'noop', script: 'true', timeout: 10 }],
      rollback: [{ name: 'noop', script: 'true', timeout: 10 }],
      healthGate: { probes: ['app'], timeout: 30, interval: 1, successes: 1 },
      loadBalancer: { targetGroups: [GROUP], drainTimeout: 60, healthyTimeout: 60 },
    },
    health: {
      schedule: 'rate(1 minute)',
      probes: [{ name: 'app', type: 'command', script: 'test -d .', timeout: 5 }],
    },
    maintenance: {
      tidy: {
        description: 'clean old logs on each host, one at a time, behind the gate',
        schedule: 'cron(0 3 ? * SUN *)',
        steps: [
          { type: 'script', name: 'mark', script: 'echo maintained > "maintained-$AWS_SSM_INSTANCE_ID"' },
          {
            type: 'disk-cleanup',
            name: 'logs',
            oldFiles: [{ directory: workdir, pattern: '*.log', olderThanDays: 7 }],
            dryRun: true,
          },
        ],
        batchSize: 1,
        healthGate: ['app'],
        mute: ['app'],
      },
    },
  });
});

afterAll(() => {
  aws.restore();
  dynamo.restore();
  sns.restore();
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  rmSync(workdir, { recursive: true, force: true });
});

/** The maintenance workflow with the Lambda modules AWS runs. */
async function engine() {
  const handlers: Record<string, LambdaHandler> = {};
  for (const fn of MAINTAIN_FUNCTIONS) {
    handlers[ARNS[fn]] = (
      (await import(`../../functions/${fn}/handler.ts`)) as { handler: LambdaHandler }
    ).handler;
  }
  // The execution ARN as AWS gives it (the local engine's says `local`), running in the SFN fake:
  // the rolling step asks DescribeExecution for it before each batch after the first.
  const step = handlers[ARNS['run-maintenance-step']] as LambdaHandler;
  handlers[ARNS['run-maintenance-step']] = (event, context) => {
    const input = event as { executionId?: string };
    const executionId = input.executionId?.replace(
      ':states:local:000000000000:',
      `:states:${REGION}:${ACCOUNT}:`,
    );
    if (executionId) aws.sfn.executions.set(executionId, 'RUNNING');
    return step({ ...input, ...(executionId ? { executionId } : {}) } as never, context);
  };
  return createLocalEngine(maintainWorkflow(ARNS), handlers, {
    stateMachineName: 'stepops-test-maintenance',
  });
}

describe('a maintenance run on ec2 hosts behind a load balancer, through the Lambda modules', () => {
  it('rolls the job over the hosts one at a time, each drained and registered back, and tells how it went', async () => {
    // Act
    const result = await (await engine()).start(
      { target: 'mt-aws', job: 'tidy', trigger: 'schedule' },
      { executionName: 'mt-aws-run-1' },
    ).result;

    // Assess: the outcome
    expect(result.status, JSON.stringify(result.error ?? result.cause)).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'succeeded' });
    expect(readFileSync(path.join(workdir, `maintained-${WEB_1}`), 'utf8').trim()).toBe('maintained');
    expect(existsSync(path.join(workdir, `maintained-${WEB_2}`))).toBe(true);
    // Each step rolls over the hosts: each host drained and registered back before the next one
    const moves = aws.log.calls
      .filter((c) => /^elbv2:(Deregister|Register)Targets$/.test(c.call))
      .map(
        (c) => `${c.call} ${(c.input as { Targets: { Id: string }[] }).Targets.map((t) => t.Id).join(',')}`,
      );
    const rollOnce = [
      `elbv2:DeregisterTargets ${WEB_1}`,
      `elbv2:RegisterTargets ${WEB_1}`,
      `elbv2:DeregisterTargets ${WEB_2}`,
      `elbv2:RegisterTargets ${WEB_2}`,
    ];
    expect(moves).toEqual([...rollOnce, ...rollOnce]);
    // Before each batch after the first, the step read its own execution's status (one per step)
    expect(aws.log.of('states:DescribeExecution')).toEqual([
      { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-maintenance:mt-aws-run-1` },
      { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-maintenance:mt-aws-run-1` },
    ]);
    // What the hosts ran is what `plan maintenance` prints for this run: the same scripts, step by step
    const sent = [...aws.ssm.commands.values()]
      .filter((c) => c.invocations.has(WEB_1) && !c.comment.includes('stepops probes '))
      .map((c) => c.script);
    expect(sent).toEqual(
      planMaintenance(findTarget('mt-aws'), { runId: 'mt-aws-run-1' }).jobs[0]?.steps.map((st) => st.script),
    );
    expect(sent[0]).toContain('# stepops recover mt-aws maintain-tidy mark');
    // The lease: taken, then released; the outcome published to the stage's topic
    const names = log.names();
    expect(names[0]).toBe('dynamodb:PutItem');
    // The lease names the run's execution, and says which job runs and the probes it mutes (health reads it)
    expect(log.of('dynamodb:PutItem')[0]).toMatchObject({
      Item: {
        owner: { S: 'mt-aws-run-1' },
        execution: { S: 'arn:aws:states:local:000000000000:execution:stepops-test-maintenance:mt-aws-run-1' },
        maintenance: { M: { job: { S: 'tidy' }, mute: { L: [{ S: 'app' }] } } },
      },
    });
    expect(names).toContain('dynamodb:DeleteItem');
    expect(log.calls.filter((c) => c.call.startsWith('dynamodb:')).map((c) => c.input.TableName)).toEqual(
      expect.arrayContaining([TABLE]),
    );
    expect(log.calls.filter((c) => c.call.startsWith('dynamodb:') && c.input.TableName !== TABLE)).toEqual(
      [],
    );
    const published = log.of('sns:Publish').at(-1) as { TopicArn: string; Message: string };
    expect(published.TopicArn).toBe(process.env.STEPOPS_ALERTS_TOPIC_ARN);
    expect(JSON.parse(published.Message)).toMatchObject({
      target: 'mt-aws',
      workflow: 'maintenance',
      outcome: 'succeeded',
      runId: 'mt-aws-run-1',
    });
  });

  it('a deploy holding the target: the run is skipped, nothing is sent to the hosts, and the skip is told', async () => {
    // Prepare: the deploy's lease, as the lease store writes it
    const commandsBefore = aws.ssm.commands.size;
    items.set('lease#target:mt-aws', {
      pk: { S: 'lease#target:mt-aws' },
      leaseKey: { S: 'target:mt-aws' },
      owner: { S: 'deploy-7' },
      expiresAt: { N: String(Math.floor(Date.now() / 1000) + 600) },
    });

    // Act
    const result = await (await engine()).start(
      { target: 'mt-aws', job: 'tidy', trigger: 'schedule' },
      { executionName: 'mt-aws-run-2' },
    ).result;

    // Assess
    items.delete('lease#target:mt-aws');
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'skipped', error: 'TargetLockedError', unchanged: true });
    expect(aws.ssm.commands.size).toBe(commandsBefore);
    const published = log.of('sns:Publish').at(-1) as { Message: string };
    expect(JSON.parse(published.Message)).toMatchObject({ outcome: 'skipped', runId: 'mt-aws-run-2' });
  });

  it("sends only calls each maintenance function's IAM policy allows, as stacks/maintain.ts renders it", async () => {
    await expectRecordedCallsAllowed();
  }, 600_000);
});
