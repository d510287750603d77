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
import { backupOutcomeSchema } from '../../../shared/backup/contracts.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import { runOutcomeSchema } from '../../../shared/deploy/contracts.ts';
import type { Notification, Outcome, WorkflowName } from '../../../shared/drivers/ports.ts';
import { healthNotification } from '../../../shared/health/alerts.ts';
import { maintenanceOutcomeSchema } from '../../../shared/maintenance/contracts.ts';
import { requestApprovalStep } from '../../../shared/recovery/approval.ts';
import { recoveryOutcomeSchema } from '../../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../../shared/recovery/run.ts';
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

  it("posts to the stage's webhook, with a warning, when the target's own parameter does not exist", async () => {
    // Prepare: SSM answers ParameterNotFound (GetParameter API reference, Errors).
    const parameter = '/stepops/test/not-created-webhook';
    registerTarget({ ...ec2Target('new-app'), alerts: { slackWebhookParameter: parameter } });
    const missing = Object.assign(new Error(`Parameter ${parameter} not found.`), {
      name: 'ParameterNotFound',
    });
    ssm.on(GetParameterCommand, { Name: parameter, WithDecryption: true }).rejects(missing);

    // Act
    await handler(
      snsEvent({ ...notification, target: 'new-app' }),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    expect(received.map((r) => r.path)).toEqual([SECRET_PATH]);
    const warning = output.split('\n').find((l) => l.includes('does not exist'));
    expect(JSON.parse(warning!)).toMatchObject({ level: 'WARN', parameter, target: 'new-app' });
  });

  it("does not fall back when the target's own parameter cannot be read for another reason", async () => {
    // Prepare
    const parameter = '/stepops/test/denied-webhook';
    registerTarget({ ...ec2Target('denied-app'), alerts: { slackWebhookParameter: parameter } });
    const denied = Object.assign(new Error('not authorized to perform ssm:GetParameter'), {
      name: 'AccessDeniedException',
    });
    ssm.on(GetParameterCommand, { Name: parameter, WithDecryption: true }).rejects(denied);

    // Act
    const act = handler(
      snsEvent({ ...notification, target: 'denied-app' }),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    await expect(act).rejects.toThrow();
    expect(received).toEqual([]);
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

/**
 * Every outcome a notifier publishes, per workflow, read from the notify steps' output contracts;
 * `awaiting-approval` comes from the approval request itself. Typed as a record of every
 * {@link Outcome}, so a new outcome that no entry names fails `tsc` here.
 */
function publishedOutcomes(): Record<Outcome, WorkflowName[]> {
  const byOutcome: Record<Outcome, WorkflowName[]> = {
    succeeded: [],
    failed: [],
    'rolled-back': [],
    'rollback-failed': [],
    'awaiting-approval': ['recover'],
    skipped: [],
  };
  const contracts: [WorkflowName, readonly Outcome[]][] = [
    ['deploy', runOutcomeSchema.def.shape.outcome.options],
    ['backup', backupOutcomeSchema.def.shape.outcome.options],
    ['recover', recoveryOutcomeSchema.def.shape.outcome.options],
    ['health', ['succeeded', 'failed']],
    ['maintenance', maintenanceOutcomeSchema.def.shape.outcome.options],
  ];
  for (const [workflow, outcomes] of contracts)
    for (const outcome of outcomes) byOutcome[outcome].push(workflow);
  return byOutcome;
}

describe('forward-alert takes every notification the notifiers publish', () => {
  const published = Object.entries(publishedOutcomes()).flatMap(([outcome, workflows]) =>
    workflows.map((workflow) => [workflow, outcome as Outcome] as const),
  );

  it('lists each outcome of the contracts at least once', () => {
    expect(new Set(published.map(([, outcome]) => outcome))).toEqual(
      new Set(['succeeded', 'failed', 'rolled-back', 'rollback-failed', 'awaiting-approval', 'skipped']),
    );
  });

  it.each(published)('posts a %s notification with outcome %s to Slack', async (workflow, outcome) => {
    // Act
    await handler(
      snsEvent({ ...notification, workflow, outcome, summary: `${workflow} ${outcome} summary` }),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    expect(received).toHaveLength(1);
    const message = received[0]!.body as { text: string; blocks: unknown[] };
    expect(message.text).toContain(`${workflow} zmanim: ${outcome}`);
    expect(message.text).toContain(`${workflow} ${outcome} summary`);
  });

  it('posts a health alert as the health check builds it', async () => {
    // Prepare
    const health = healthNotification(
      'zmanim',
      {
        kind: 'down',
        probe: 'api-health',
        condition: 'status 200',
        detail: '502 in 12 ms',
        since: '2026-11-22T03:39:00.000Z',
        consecutiveFailures: 3,
        alert: true,
      },
      'health-zmanim-1',
      new Date('2026-11-22T03:40:00.000Z'),
    );

    // Act
    await handler(snsEvent(health), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    expect(received).toHaveLength(1);
    expect(JSON.stringify(received[0]!.body)).toContain('api-health down');
  });

  it('posts the approval request as request-approval publishes it, with its approve and reject buttons', async () => {
    // Prepare: the real request of a planned recovery, caught on its way to the topic
    const published: Notification[] = [];
    const deps = recoveryDepsWith({
      approvals: () => ({
        put: async () => {},
        get: async () => undefined,
        answer: async () => {
          throw new Error('not answered here');
        },
        reopen: async () => {},
      }),
      notifier: () => ({
        publish: async (n: Notification) => {
          published.push(n);
        },
      }),
      approvalLinks: async () => ({ baseUrl: 'https://api.example.com', secret: 'k'.repeat(64) }),
      now: () => Date.parse('2026-11-22T03:40:00.000Z'),
    });
    const plan = planRecoveryStep(
      { input: { target: 'zmanim', runbook: 'restart-api', reason: 'API down' }, runId: 'zmanim-r1' },
      deps,
    );
    await requestApprovalStep(
      {
        taskToken: 'token-1',
        plan,
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:zmanim-r1',
        context: { instanceIds: [], steps: {}, checks: ['api-health is failing'] },
      },
      deps,
    );
    expect(published.map((n) => n.outcome)).toEqual(['awaiting-approval']);

    // Act
    await handler(snsEvent(published[0]), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    expect(received).toHaveLength(1);
    const blocks = (
      received[0]!.body as {
        blocks: { type: string; elements?: { text: { text: string }; url: string }[] }[];
      }
    ).blocks;
    const buttons = blocks.find((b) => b.type === 'actions')?.elements ?? [];
    expect(buttons.map((b) => b.text.text)).toEqual(['Approve', 'Reject', 'Open execution']);
    expect(buttons[0]!.url).toMatch(
      /^https:\/\/api\.example\.com\/approvals\/zmanim-r1\/approve\?expires=\d+&signature=[0-9a-f]{64}$/,
    );
    expect(buttons[1]!.url).toContain('/approvals/zmanim-r1/reject?');
  });
});

/**
 * A Step Functions "Execution Status Change" event as EventBridge delivers it to the alerts topic,
 * in the shape the Step Functions developer guide shows ("EventBridge for Step Functions execution
 * status changes"), with stepops' names.
 */
function statusChange(detail: Record<string, unknown>): Record<string, unknown> {
  const name = (detail.name as string | undefined) ?? 'zmanim-3c1f0a9b8e7d6c5b';
  const machine = (detail.machine as string | undefined) ?? 'stepops-prod-deploy';
  const { machine: _machine, ...rest } = detail;
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: '2026-11-22T03:40:00Z',
    region: 'eu-west-1',
    resources: [`arn:aws:states:eu-west-1:123456789012:execution:${machine}:${name}`],
    detail: {
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:${machine}:${name}`,
      stateMachineArn: `arn:aws:states:eu-west-1:123456789012:stateMachine:${machine}`,
      name,
      status: 'FAILED',
      startDate: 1795318800000,
      stopDate: 1795319100000,
      input: '{"target":"zmanim","ref":"v1.4.2","requestedBy":"ana (stepops deploy)"}',
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
      ...rest,
    },
  };
}

describe('forward-alert on runs that ended where no Catch could see it', () => {
  it('posts a deploy that timed out: workflow, target from its input, status and a link to the execution', async () => {
    // Act
    await handler(
      snsEvent(statusChange({ status: 'TIMED_OUT' })),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe(`${SECRET_PATH}-zmanim`);
    const message = received[0]!.body as { text: string; blocks: unknown[] };
    expect(message.text).toContain('deploy zmanim: failed');
    expect(message.text).toContain(
      '(run zmanim-3c1f0a9b8e7d6c5b) timed out (its TimeoutSeconds) before it could report',
    );
    expect(JSON.stringify(message.blocks)).toContain(
      'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:zmanim-3c1f0a9b8e7d6c5b',
    );
    expect(JSON.stringify(message.blocks)).toContain('execution TIMED_OUT');
  });

  it('posts a run that failed with States.DataLimitExceeded, with its cause', async () => {
    // Act
    await handler(
      snsEvent(
        statusChange({
          machine: 'stepops-prod-recover',
          error: 'States.DataLimitExceeded',
          cause:
            'The state/task returned a result with a size exceeding the maximum number of bytes service limit.',
        }),
      ),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    expect(received).toHaveLength(1);
    const text = JSON.stringify(received[0]!.body);
    expect(text).toContain('recover zmanim: failed');
    expect(text).toContain('failed with States.DataLimitExceeded');
    expect(text).toContain('exceeding the maximum number of bytes');
  });

  it('takes the target from the run name when the input was left out, for an aborted backup', async () => {
    // Act
    await handler(
      snsEvent(
        statusChange({
          machine: 'stepops-prod-backup',
          name: 'retired-app-0123456789abcdef',
          status: 'ABORTED',
          input: null,
          inputDetails: { included: false },
        }),
      ),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    expect(received).toHaveLength(1);
    expect((received[0]!.body as { text: string }).text).toContain(
      'backup retired-app: failed — backup of retired-app (run retired-app-0123456789abcdef) was aborted (StopExecution)',
    );
  });

  it.each([
    ['a failure the run alerted itself', { error: 'HealthGateFailedError' }],
    ['a run that succeeded', { status: 'SUCCEEDED' }],
    ['a run that started', { status: 'RUNNING', stopDate: null }],
  ])('posts nothing and throws nothing for %s', async (_case, detail) => {
    // Act
    await handler(snsEvent(statusChange(detail)), lambdaContext('stepops-test-ForwardAlert'));

    // Assess
    expect(received).toHaveLength(0);
    expect(output).toContain('not posted: already alerted, or not alerted');
  });

  it('posts a run whose notify step itself failed (NotificationFailedError)', async () => {
    // Act
    await handler(
      snsEvent(statusChange({ error: 'NotificationFailedError', cause: 'SNS Publish was denied' })),
      lambdaContext('stepops-test-ForwardAlert'),
    );

    // Assess
    expect(received).toHaveLength(1);
  });
});
