/**
 * The recovery functions around the run's actions: request-approval (stores the task token, signs
 * the links with the stage's secret, publishes the request), answer-approval (the signed link:
 * reads the secret, answers the approval item and the waiting run), notify-recovery (publishes the
 * outcome), terminate-replaced (terminates the instances a replacement retired), and forward-alert
 * (posts an alert of the topic to the target's Slack channel). Each runs through its real handler in
 * the stage's configuration (the environment and links the stacks give it), AWS mocked at the
 * command level, Slack a real HTTPS server on 127.0.0.1; every call is recorded and checked against
 * the function's IAM policy as the stacks render it.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // What stacks/recover.ts gives every recovery function in a stage named `test`.
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
  process.env.STEPOPS_API_URL = 'https://api.stepops.example';
  process.env.STEPOPS_APPROVAL_SECRET_PARAMETER = '/stepops/test/approval-signing-key';
  // The linked resources forward-alert reads (stacks/alerts.ts).
  process.env.SST_RESOURCE_App = JSON.stringify({ name: 'stepops', stage: 'test' });
  process.env.SST_RESOURCE_SlackWebhook = JSON.stringify({ parameter: '/stepops/test/slack-webhook-url' });
  return before;
});

import { clearRegisteredTargets, findTarget } from '../../shared/config/registry.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../shared/recovery/run.ts';
import { REPLACED_BY_TAG } from '../../shared/recovery/steps/common.ts';
import type { Ec2Target } from '../../stacks/settings.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { trustedLoopbackCertificate } from '../helpers/tls.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { httpApiEvent } from '../unit/api/events.ts';
import { checkCalls } from './check.ts';
import { expectRecordedCallsAllowed, stagePolicies } from './record-calls.ts';
import { withinRoute } from './recorder.ts';

const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const sfn = mockClient(SFNClient);
/** The state table's items by `pk`, as PutItem and UpdateItem left them. */
const items = new Map<string, Record<string, AttributeValue>>();
/** What the Slack stand-in received. */
const posted: { path: string; body: string }[] = [];
let slack: Server;
const EXECUTION = `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-recover:run-1`;

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

beforeAll(async () => {
  registerFilledTargets();
  slack = createServer(trustedLoopbackCertificate(), (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      posted.push({ path: request.url ?? '', body });
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  const webhook = `https://127.0.0.1:${(slack.address() as AddressInfo).port}/services/T0/B0/zmanim`;
  dynamo.on(PutItemCommand).callsFake((input) => {
    items.set(String(input.Item.pk?.S), input.Item);
    return {};
  });
  dynamo.on(GetItemCommand).callsFake((input) => {
    const item = items.get(String(input.Key.pk?.S));
    return item ? { Item: item } : {};
  });
  // The store's answer: `SET #status = :decision, answeredBy = :by`, ReturnValues ALL_NEW (its
  // condition is evaluated on dynalite in tests/unit/drivers/dynamo-approval-store.test.ts).
  dynamo.on(UpdateItemCommand).callsFake((input) => {
    const key = String(input.Key.pk?.S);
    const values = input.ExpressionAttributeValues;
    const item = { ...items.get(key), status: values[':decision'], answeredBy: values[':by'] };
    items.set(key, item);
    return { Attributes: item };
  });
  sfn.on(SendTaskSuccessCommand).resolves({});
  ssm
    .on(GetParameterCommand, { Name: '/zmanim/prod/slack-webhook', WithDecryption: true })
    .resolves({ Parameter: { Value: webhook } });
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  ssm
    .on(GetParameterCommand, { Name: '/stepops/test/approval-signing-key', WithDecryption: true })
    .resolves({ Parameter: { Value: 'a'.repeat(64) } });
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          {
            InstanceId: 'i-0aaaaaaaaaaaaaaa1',
            State: { Name: 'stopped' },
            Tags: [
              { Key: REPLACED_BY_TAG, Value: 'run-1' },
              { Key: 'Name', Value: 'zmanim-api' },
            ],
          },
        ],
      },
    ],
  });
  ec2
    .on(TerminateInstancesCommand)
    .resolves({ TerminatingInstances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }] });
});
afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  dynamo.restore();
  sns.restore();
  ssm.restore();
  ec2.restore();
  sfn.restore();
  slack.closeAllConnections();
  await new Promise<void>((resolve) => slack.close(() => resolve()));
});

describe('the recovery functions that ask, tell and clean up', () => {
  it('request-approval stores the token, signs the links with the stage’s secret and publishes the request', async () => {
    // Prepare
    const plan = planRecoveryStep(
      {
        input: { target: 'zmanim', runbook: 'restart-api', reason: 'API down', requestedBy: 'ops' },
        runId: 'run-1',
      },
      recoveryDepsWith({}),
    );

    // Act
    const result = await invoke<{ requested: boolean }>('request-approval', {
      taskToken: 'token-1',
      plan,
      executionId: EXECUTION,
      context: { instanceIds: [], steps: {}, checks: ['api-health is failing'] },
    });

    // Assess
    expect(result.requested).toBe(true);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, { TableName: 'stepops-test-state' });
    const message = String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message);
    expect(message).toContain('https://api.stepops.example/approvals/run-1/approve?expires=');
  });

  it('answer-approval shows the signed link, then approves the run and answers its task', async () => {
    // Prepare: the link request-approval published
    const message = JSON.parse(String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message)) as {
      actions: { label: string; url: string }[];
    };
    const link = new URL(String(message.actions.find((a) => a.label === 'Approve')?.url));
    const event = (method: 'GET' | 'POST') => ({
      ...httpApiEvent({
        method,
        path: link.pathname,
        routeKey: `${method} /approvals/{runId}/{decision}`,
        pathParameters: { runId: 'run-1', decision: 'approve' },
      }),
      rawQueryString: link.search.slice(1),
      queryStringParameters: Object.fromEntries(link.searchParams),
    });

    // Act
    const shown = await withinRoute('GET /approvals/{runId}/{decision}', () =>
      invoke<{ statusCode: number; body: string }>('answer-approval', event('GET')),
    );
    const answered = await withinRoute('POST /approvals/{runId}/{decision}', () =>
      invoke<{ statusCode: number; body: string }>('answer-approval', event('POST')),
    );

    // Assess
    expect(shown.statusCode, shown.body).toBe(200);
    expect(answered.statusCode, answered.body).toBe(200);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-1' });
    expect(dynamo).toHaveReceivedCommandWith(UpdateItemCommand, { TableName: 'stepops-test-state' });
  });

  it('notify-recovery publishes how the run ended', async () => {
    // Act
    const result = await invoke<{ outcome: string }>('notify-recovery', {
      run: { plan: { target: 'zmanim' }, target: 'zmanim' },
      runId: 'run-1',
      executionId: EXECUTION,
    });

    // Assess: the alert names the run and the outcome the workflow ends with
    const published = sns.commandCalls(PublishCommand).at(-1)?.args[0].input;
    expect(published?.TopicArn).toBe(process.env.STEPOPS_ALERTS_TOPIC_ARN);
    expect(JSON.parse(String(published?.Message))).toMatchObject({
      target: 'zmanim',
      workflow: 'recover',
      runId: 'run-1',
      outcome: result.outcome,
    });
  });

  it('terminate-replaced terminates the instance the run retired', async () => {
    // Act
    const result = await invoke<{ terminated: string[] }>('terminate-replaced', {
      target: 'zmanim',
      runId: 'run-1',
    });

    // Assess
    expect(result.terminated).toEqual(['i-0aaaaaaaaaaaaaaa1']);
    expect(ec2).toHaveReceivedCommandWith(TerminateInstancesCommand, {
      InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
    });
    expect(findTarget('zmanim').hosts.type).toBe('ec2');
  });

  it('forward-alert posts an alert of the topic to the target’s own Slack channel', async () => {
    // Prepare: the alert notify-recovery published, as the topic delivers it
    const publish = sns.commandCalls(PublishCommand).at(-1)?.args[0].input;
    const topicArn = String(process.env.STEPOPS_ALERTS_TOPIC_ARN);
    const event = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: `${topicArn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55`,
          Sns: {
            Type: 'Notification',
            MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
            TopicArn: topicArn,
            Subject: String(publish?.Subject ?? 'stepops'),
            Message: String(publish?.Message),
            Timestamp: new Date().toISOString(),
            SignatureVersion: '1',
            Signature: 'EXAMPLE',
            SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0.pem',
            UnsubscribeUrl: `https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}`,
            MessageAttributes: {},
          },
        },
      ],
    };

    // Act
    await invoke('forward-alert', event);

    // Assess
    expect(posted.map((p) => p.path)).toEqual(['/services/T0/B0/zmanim']);
    expect(posted[0]?.body).toContain('zmanim');
  });

  it('would be denied answering a run from the GET route, whose role may only read the secret', async () => {
    // Prepare: the POST's answering calls, as if the GET route's deployment had sent them
    const policies = await stagePolicies(
      ['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim'].map((n) => findTarget(n) as Ec2Target),
    );
    const route = 'GET /approvals/{runId}/{decision}';
    const calls = [
      { client: 'SFNClient', command: 'SendTaskSuccess', input: { taskToken: 'token-1', output: '{}' } },
      { client: 'DynamoDBClient', command: 'UpdateItem', input: { TableName: 'stepops-test-state' } },
    ].map((c) => ({ ...c, functionName: 'answer-approval', route, region: REGION }));

    // Act
    const { denials } = await checkCalls(calls, policies);

    // Assess
    expect(denials.map((d) => d.action).sort()).toEqual(['dynamodb:UpdateItem', 'states:SendTaskSuccess']);
  }, 600_000);

  it("sends only calls each function's IAM policy allows, as the stacks render it", async () => {
    await expectRecordedCallsAllowed();
  }, 600_000);
});
