import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  escapeMrkdwn,
  postToSlack,
  SLACK_LIMITS,
  type SlackBlock,
  SlackPostError,
  slackMessage,
} from '../../../shared/alerts/slack.ts';
import { clearSlackWebhookCache, SlackNotifier } from '../../../shared/drivers/aws/slack-notifier.ts';
import type { Notification } from '../../../shared/drivers/ports.ts';

const notification: Notification = {
  target: 'datizmo',
  workflow: 'deploy',
  outcome: 'rolled-back',
  runId: 'run-42',
  summary: 'deploy of v3 failed the health gate and was rolled back to health',
  ref: 'v3',
  failedState: 'HealthGate',
  error: 'HealthGateFailedError',
  cause: 'site: expected status 200, got 503',
  host: 'i-0aaaaaaaaaaaaaaa1',
  outputTail: '==> step 3/4: migrate\nok\n',
  executionUrl:
    'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn',
  at: '2026-01-01T00:00:00.000Z',
};

function texts(blocks: SlackBlock[]): string[] {
  return blocks.flatMap((block) => {
    if (block.type === 'header') return [block.text.text];
    if (block.type === 'section') return [block.text?.text ?? '', ...(block.fields ?? []).map((f) => f.text)];
    if (block.type === 'context') return block.elements.map((e) => e.text);
    return [];
  });
}

describe('slackMessage', () => {
  it('has a header with the outcome emoji, the fields, the error, the output and a link to the execution', () => {
    // Act
    const message = slackMessage(notification);

    // Assess
    const [header, summary, fields, error, output, actions] = message.blocks;
    expect(header).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: ':leftwards_arrow_with_hook: deploy datizmo: rolled-back',
        emoji: true,
      },
    });
    expect(summary).toMatchObject({ type: 'section', text: { type: 'mrkdwn', text: notification.summary } });
    expect(fields).toEqual({
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*Target*\ndatizmo' },
        { type: 'mrkdwn', text: '*Workflow*\ndeploy' },
        { type: 'mrkdwn', text: '*Outcome*\nrolled-back' },
        { type: 'mrkdwn', text: '*Ref*\nv3' },
        { type: 'mrkdwn', text: '*Failed state*\nHealthGate' },
        { type: 'mrkdwn', text: '*Host*\ni-0aaaaaaaaaaaaaaa1' },
      ],
    });
    expect(error).toMatchObject({
      text: { text: '*Error*\n`HealthGateFailedError` site: expected status 200, got 503' },
    });
    // Slack decodes the entities, in code blocks too: the reader sees `==> step 3/4`.
    expect(output).toMatchObject({ text: { text: '*Output (tail)*\n```\n==&gt; step 3/4: migrate\nok```' } });
    expect(actions).toMatchObject({
      type: 'actions',
      elements: [{ type: 'button', url: notification.executionUrl, style: 'danger' }],
    });
    expect(message.text).toBe(`deploy datizmo: rolled-back — ${notification.summary}`);
  });

  it('leaves out what the notification does not have', () => {
    const message = slackMessage({
      target: 'demo',
      workflow: 'deploy',
      outcome: 'succeeded',
      runId: 'r',
      summary: 'deployed v2',
      at: '2026-01-01T00:00:00.000Z',
    });
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(message.blocks[0]).toMatchObject({ text: { text: ':white_check_mark: deploy demo: succeeded' } });
  });

  it('keeps a long output tail within the section limit, with its last line, as one code block', () => {
    // Prepare
    const outputTail = `${Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n')}\nLAST LINE\n`;

    // Act
    const output = slackMessage({ ...notification, outputTail }).blocks.find(
      (b) => b.type === 'section' && b.text?.text.startsWith('*Output'),
    );

    // Assess
    const text = output?.type === 'section' ? (output.text?.text ?? '') : '';
    expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(text.endsWith('LAST LINE```')).toBe(true);
    expect(text.match(/```/g)).toHaveLength(2);
  });

  it('escapes mrkdwn control characters and fences in output so they cannot break the message', () => {
    // Act
    const message = slackMessage({
      ...notification,
      summary: 'ping <!channel> & <https://evil.example|click>',
      outputTail: 'before\n```\n<!here>\n',
    });

    // Assess
    const all = [message.text, ...texts(message.blocks)].join('\n');
    expect(message.text).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<!here>');
    expect(all).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    const output = texts(message.blocks).find((t) => t.startsWith('*Output'));
    expect(output?.match(/```/g)).toHaveLength(2);
    expect(escapeMrkdwn('a<b>&')).toBe('a&lt;b&gt;&amp;');
  });

  it('clips the header and fields to Slack limits', () => {
    const message = slackMessage({ ...notification, target: 't'.repeat(400), ref: 'r'.repeat(5000) });
    const header = message.blocks[0];
    expect(header?.type === 'header' && header.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    for (const text of texts(message.blocks))
      expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
  });

  it('links only to https console URLs', () => {
    const message = slackMessage({ ...notification, executionUrl: 'javascript:alert(1)' });
    expect(message.blocks.some((b) => b.type === 'actions')).toBe(false);
  });
});

describe('postToSlack against a local webhook', () => {
  let server: Server;
  let url: string;
  const secretPath = '/services/T000SECRET/B000SECRET/ZZZZSECRETTOKEN';
  let answers: (number | { status: number; retryAfter: string })[] = [];
  let received: { method: string; path: string; contentType: string; body: unknown }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          path: req.url ?? '',
          contentType: req.headers['content-type'] ?? '',
          body: JSON.parse(body),
        });
        const answer = answers.shift() ?? 200;
        const status = typeof answer === 'number' ? answer : answer.status;
        const headers = typeof answer === 'number' ? {} : { 'retry-after': answer.retryAfter };
        // A misbehaving proxy that echoes the request must not leak the URL either.
        res.writeHead(status, headers).end(status === 200 ? 'ok' : `error for ${req.url}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${secretPath}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    answers = [];
    received = [];
  });

  it('posts the Block Kit payload as JSON', async () => {
    // Act
    await postToSlack(url, slackMessage(notification));

    // Assess
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', path: secretPath, contentType: 'application/json' });
    expect(received[0]?.body).toEqual(JSON.parse(JSON.stringify(slackMessage(notification))));
  });

  it('retries a 500 and succeeds on the next attempt, logging without the URL', async () => {
    // Prepare
    answers = [500];
    const logs: string[] = [];

    // Act
    await postToSlack(url, slackMessage(notification), {
      attempts: 3,
      baseDelayMs: 1,
      log: (l) => logs.push(l),
    });

    // Assess
    expect(received).toHaveLength(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^Slack webhook answered 500; retrying in \d+ ms \(attempt 1 of 3\)$/);
  });

  it('retries a 429 too', async () => {
    answers = [429];
    await postToSlack(url, slackMessage(notification), { attempts: 2, baseDelayMs: 1 });
    expect(received).toHaveLength(2);
  });

  it('gives up after the last attempt with an error that names the status and not the URL', async () => {
    // Prepare
    answers = [500, 502, 503];
    const logs: string[] = [];

    // Act
    const error = await postToSlack(url, slackMessage(notification), {
      attempts: 3,
      baseDelayMs: 1,
      log: (l) => logs.push(l),
    }).catch((e: unknown) => e);

    // Assess
    expect(received).toHaveLength(3);
    expect(error).toBeInstanceOf(SlackPostError);
    expect((error as SlackPostError).message).toBe('Slack webhook answered 503; gave up after 3 attempts');
    expect((error as SlackPostError).status).toBe(503);
    for (const text of [
      ...logs,
      (error as Error).message,
      String((error as Error).stack),
      JSON.stringify(error),
    ]) {
      expect(text).not.toContain('SECRET');
      expect(text).not.toContain('127.0.0.1');
    }
  });

  it('waits as long as Retry-After asks when the deadline leaves room for it', async () => {
    // Prepare: a clock that the wait itself moves on; 60 s to the deadline
    answers = [{ status: 429, retryAfter: '1' }];
    const start = Date.now();

    // Act
    await postToSlack(url, slackMessage(notification), { attempts: 2, deadline: start + 60_000 });

    // Assess
    expect(received).toHaveLength(2);
  });

  it('gives up at once, saying why, when Retry-After is longer than the time to the deadline', async () => {
    // Prepare
    answers = [{ status: 429, retryAfter: '45' }];
    const logs: string[] = [];
    const now = 1_000_000;

    // Act
    const error = await postToSlack(url, slackMessage(notification), {
      attempts: 3,
      deadline: now + 20_000,
      now: () => now,
      log: (l) => logs.push(l),
    }).catch((e: unknown) => e);

    // Assess
    expect(received).toHaveLength(1);
    expect(error).toBeInstanceOf(SlackPostError);
    expect((error as Error).message).toBe(
      'Slack webhook answered 429; Retry-After 45 s is longer than the 20 s left, giving up after attempt 1 of 3',
    );
    expect(logs).toEqual([(error as Error).message]);
  });

  it('starts no attempt when the deadline has passed', async () => {
    // Act
    const error = await postToSlack(url, slackMessage(notification), {
      deadline: 5_000,
      now: () => 5_000,
    }).catch((e: unknown) => e);

    // Assess
    expect(received).toHaveLength(0);
    expect((error as Error).message).toMatch(/no time left for attempt 1 of 3, giving up/);
  });

  it('does not retry a 4xx other than 429', async () => {
    answers = [404];
    const error = await postToSlack(url, slackMessage(notification), { attempts: 3, baseDelayMs: 1 }).catch(
      (e: unknown) => e,
    );
    expect(received).toHaveLength(1);
    expect((error as Error).message).toBe('Slack webhook answered 404');
  });

  it('retries network errors and reports them without the URL', async () => {
    // Prepare
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}${secretPath}`;
    await new Promise((resolve) => closed.close(resolve));
    const logs: string[] = [];

    // Act
    const error = await postToSlack(deadUrl, slackMessage(notification), {
      attempts: 2,
      baseDelayMs: 1,
      log: (l) => logs.push(l),
    }).catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toBe(
      'Slack webhook unreachable (ECONNREFUSED); gave up after 2 attempts',
    );
    expect(logs).toHaveLength(1);
    expect(`${logs.join('')}${(error as Error).message}${String((error as Error).stack)}`).not.toContain(
      'SECRET',
    );
    expect((error as Error).cause).toBeUndefined();
  });
});

describe('SlackNotifier', () => {
  const ssm = mockClient(SSMClient);
  let server: Server;
  let port: number;
  let posts = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posts++;
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    ssm.reset();
    clearSlackWebhookCache();
    posts = 0;
  });

  it('reads the webhook URL once with decryption and posts each notification', async () => {
    // Prepare
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: `https://127.0.0.1:${port}/never-used` } });
    const client = new SSMClient({ region: 'eu-west-1' });
    // The parameter must hold an https URL; the test server speaks http, so point fetch at it.
    const fetchVia: typeof fetch = (input, init) => fetch(String(input).replace(/^https:/, 'http:'), init);
    const notifier = new SlackNotifier('/stepops/slack-webhook', { client, fetch: fetchVia, attempts: 1 });

    // Act
    await notifier.publish(notification);
    await notifier.publish(notification);

    // Assess
    expect(posts).toBe(2);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/stepops/slack-webhook',
      WithDecryption: true,
    });
  });

  it('names the parameter, never its value, when it does not hold a URL, and tries again next time', async () => {
    // Prepare
    ssm.on(GetParameterCommand).resolvesOnce({ Parameter: { Value: 'not-a-url-SECRET' } });
    const notifier = new SlackNotifier('/stepops/slack-webhook', {
      client: new SSMClient({ region: 'eu-west-1' }),
    });

    // Act
    const error = await notifier.publish(notification).catch((e: unknown) => e);

    // Assess
    expect((error as Error).message).toBe(
      'the Slack webhook parameter /stepops/slack-webhook does not hold an https URL',
    );
    ssm
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const second = await notifier.publish(notification).catch((e: unknown) => e);
    expect((second as Error).message).toBe(
      'cannot read the Slack webhook parameter /stepops/slack-webhook: AccessDeniedException',
    );
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });
});
