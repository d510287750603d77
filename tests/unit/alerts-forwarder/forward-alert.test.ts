/**
 * The alerts forwarder through its real handler, on an SNS event, posting to a local HTTP server that
 * stands in for the Slack webhook: the message it posts, retries on 5xx, and no URL in the logs.
 */
import type { IncomingMessage, Server } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SNSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import type { Notification } from '../../../shared/drivers/ports.ts';
import { trustedLoopbackCertificate } from '../../helpers/tls.ts';
import { lambdaContext } from '../api/events.ts';
import { ec2Target } from '../api/fixtures.ts';

type Handler = (event: SNSEvent, context: Context) => Promise<void>;

/** The stage's webhook parameter, and the one `targets/zmanim.ts` declares for its own channel. */
const PARAMETER = '/stepops/test/slack-webhook-url';
const ZMANIM_PARAMETER = '/zmanim/prod/slack-webhook';
const SECRET_PATH = '/services/T0000TEST/B0000TEST/s3cr3tW3bh00kT0k3n';

const ssm = mockClient(SSMClient);
let handler: Handler;
let server: Server;
let url: string;
/** What the stand-in answers, in order (a number, or a status with headers); 200 once used up. */
let answers: (number | { status: number; headers: Record<string, string> })[];
let received: { path: string; contentType: string | undefined; body: unknown }[];
let output: string;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      text += chunk;
    });
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

beforeAll(async () => {
  server = createServer(trustedLoopbackCertificate(), async (request, response) => {
    const body = await readBody(request);
    received.push({
      path: request.url ?? '',
      contentType: request.headers['content-type'],
      body: JSON.parse(body),
    });
    const answer = answers.shift() ?? 200;
    const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
    response.writeHead(status, { 'content-type': 'text/plain', ...headers });
    response.end(status === 200 ? 'ok' : 'internal_error');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}${SECRET_PATH}`;

  process.env.SST_RESOURCE_App = JSON.stringify({ name: 'stepops', stage: 'test' });
  process.env.SST_RESOURCE_SlackWebhook = JSON.stringify({ parameter: PARAMETER });
  handler = (await import('../../../functions/forward-alert/handler.ts')).handler as unknown as Handler;
});

afterAll(async () => {
  clearRegisteredTargets();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  ssm.reset();
  ssm
    .on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true })
    .resolves({ Parameter: { Value: url } });
  ssm
    .on(GetParameterCommand, { Name: ZMANIM_PARAMETER, WithDecryption: true })
    .resolves({ Parameter: { Value: `${url}-zmanim` } });
  answers = [];
  received = [];
  output = '';
  const spies = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output += String(chunk);
      return true;
    }),
  );
  return () => {
    for (const spy of spies) spy.mockRestore();
  };
});

const notification: Notification = {
  target: 'zmanim',
  workflow: 'deploy',
  outcome: 'rolled-back',
  runId: 'zmanim-3c1f0a9b8e7d6c5b',
  summary: 'deploy of v1.4.2 failed the health gate and was rolled back',
  ref: 'v1.4.2',
  failedState: 'HealthGate',
  error: 'HealthGateFailedError',
  cause: 'api-health failed 3 times: 502 in 31 ms',
  host: 'i-0abc12345def67890',
  outputTail: '==> step 3/3: restart\nJob for zmanim-api.service failed.',
  executionUrl:
    'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:zmanim-3c1f0a9b8e7d6c5b',
  at: '2026-11-22T03:40:00.000Z',
};

/** An SNS event as Lambda receives it from a topic subscription. */
function snsEvent(message: unknown): SNSEvent {
  const topicArn = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-AlertsTopic';
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${topicArn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55`,
        Sns: {
          Type: 'Notification',
          MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
          TopicArn: topicArn,
          Subject: 'stepops zmanim deploy rolled-back',
          Message: typeof message === 'string' ? message : JSON.stringify(message),
          Timestamp: '2026-11-22T03:40:01.000Z',
          SignatureVersion: '1',
          Signature:
            'EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=',
          SigningCertUrl:
            'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
          UnsubscribeUrl: `https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:2bcfbf39`,
          MessageAttributes: {
            target: { Type: 'String', Value: 'zmanim' },
            workflow: { Type: 'String', Value: 'deploy' },
            outcome: { Type: 'String', Value: 'rolled-back' },
          },
        },
      },
    ],
  };
}

describe('forward-alert', () => {
  it("posts a Block Kit message with the alert to the target's webhook read from SSM", async () => {
    // Act
    await handler(snsEvent(notification), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    expect(received).toHaveLength(1);
    const [post] = received;
    expect(post!.path).toBe(`${SECRET_PATH}-zmanim`);
    expect(post!.contentType).toBe('application/json');
    const message = post!.body as { text: string; blocks: { type: string }[] };
    expect(message.text).toContain('deploy of v1.4.2 failed the health gate and was rolled back');
    expect(message.blocks[0]!.type).toBe('header');
    const text = JSON.stringify(message.blocks);
    for (const part of [
      'zmanim',
      'HealthGate',
      'HealthGateFailedError',
      'Job for zmanim-api.service failed.',
    ]) {
      expect(text).toContain(part);
    }
    expect(
      message.blocks.some(
        (b) => b.type === 'actions' && JSON.stringify(b).includes(notification.executionUrl!),
      ),
    ).toBe(true);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: ZMANIM_PARAMETER,
      WithDecryption: true,
    });
  });

  it("posts an alert of a target without its own webhook to the stage's webhook", async () => {
    // Act
    await handler(
      snsEvent({ ...notification, target: 'retired-app' }),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    expect(received.map((r) => r.path)).toEqual([SECRET_PATH]);
  });

  it('retries when the webhook answers 5xx, and posts once it answers 200', async () => {
    // Prepare
    answers = [500, 503];

    // Act
    await handler(snsEvent(notification), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    expect(received).toHaveLength(3);
    expect(received[2]!.body).toEqual(received[0]!.body);
  });

  it('logs and throws when Slack keeps failing, and never logs the URL', async () => {
    // Prepare
    answers = [500, 500, 500, 500, 500];

    // Act
    const run = handler(snsEvent(notification), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    await expect(run).rejects.toThrow(/Slack webhook answered 500/);
    expect(received.length).toBeGreaterThan(1);
    expect(output).toContain('alert not posted to Slack');
    expect(output).toContain('zmanim-3c1f0a9b8e7d6c5b');
    expect(output).not.toContain('s3cr3tW3bh00kT0k3n');
    expect(output).not.toContain('127.0.0.1');
  });

  it('logs a malformed message with its SNS message id, then throws it to the dead-letter queue', async () => {
    // Act
    const run = handler(snsEvent({ hello: 'world' }), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    await expect(run).rejects.toThrow(/95df01b4-ee98-5cb9-9903-4c221d41eb5e/);
    expect(received).toHaveLength(0);
    const line = output.split('\n').find((l) => l.includes('malformed alert'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({
      level: 'ERROR',
      messageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
      problem: expect.stringMatching(/target/),
    });
  });

  it('logs a message that is not JSON with its message id', async () => {
    // Act
    const run = handler(snsEvent('not json at all'), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    await expect(run).rejects.toThrow(/not stepops notifications/);
    expect(output).toContain('"messageId":"95df01b4-ee98-5cb9-9903-4c221d41eb5e"');
    expect(output).toContain('the SNS message is not JSON');
    expect(output).not.toContain('not json at all');
  });

  it('refuses a webhook parameter holding an http URL, as the notifier does, and posts nothing', async () => {
    // Prepare: a target whose own webhook parameter holds an http URL
    const parameter = '/stepops/test/plain-http-webhook';
    registerTarget({ ...ec2Target('plain-http'), alerts: { slackWebhookParameter: parameter } });
    ssm
      .on(GetParameterCommand, { Name: parameter, WithDecryption: true })
      .resolves({ Parameter: { Value: url.replace('https://', 'http://') } });

    // Act
    const run = handler(
      snsEvent({ ...notification, target: 'plain-http' }),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    await expect(run).rejects.toThrow(`the Slack webhook parameter ${parameter} does not hold an https URL`);
    expect(received).toHaveLength(0);
    expect(output).not.toContain('s3cr3tW3bh00kT0k3n');
  });

  it('gives up in time, and logs it, when Retry-After is longer than the invocation has left', async () => {
    // Prepare: 10 s left in the invocation (the test context), Slack asks for 120 s
    answers = [{ status: 429, headers: { 'retry-after': '120' } }];

    // Act
    const run = handler(snsEvent(notification), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    await expect(run).rejects.toThrow(/Retry-After 120 s is longer than the \d+ s left/);
    expect(received).toHaveLength(1);
    expect(output).toMatch(
      /Slack webhook answered 429 \(internal_error\); Retry-After 120 s is longer than the \d+ s left, giving up/,
    );
  });
});
