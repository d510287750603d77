/**
 * The console and the status page on a stage, against Step Functions and DynamoDB mocked at the
 * command level (the CLI's fake Step Functions: paged state machines, executions and histories):
 * a target's runs (ListExecutions, DescribeExecution of the target's own only), its health state
 * (GetItem of the compressed state item) and its latency history (GetItem of each day's item),
 * the run page's history and its link to the AWS console, and the status page written from the
 * stage's states. Exact inputs are asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleServer,
  consoleData,
  startConsole,
  targetView,
  writeStatusPage,
} from '../../../cli/commands/console.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { healthWord } from '../../../shared/console/pages.ts';
import { healthDayKey } from '../../../shared/drivers/aws/dynamo-health-history.ts';
import { healthItem } from '../../../shared/drivers/aws/dynamo-health-store.ts';
import { lastDays } from '../../../shared/health/history.ts';
import { HistoryBuilder } from '../../helpers/sfn-history.ts';
import { ec2Target } from '../api/fixtures.ts';
import { executionArnOf, fakeSfn, machineArn } from './fake-sfn.ts';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const TODAY = '2026-12-06';
const YESTERDAY = '2026-12-05';
const env = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  USER: 'ana',
} as NodeJS.ProcessEnv;
const saved = { home: process.env.STEPOPS_HOME, table: process.env.STEPOPS_STATE_TABLE };

const sfn = fakeSfn({ prod: ['deploy', 'backup', 'recover'] });
const dynamo = mockClient(DynamoDBClient);
let home: string;
/** Keys whose reads are refused (AccessDeniedException). */
const denied = new Set<string>();

/** The shop's stored state: the storefront down since 11:50, a host probe up, today's latency counts. */
const state = {
  target: 'shop',
  version: 12,
  recoveries: [],
  probes: {
    storefront: {
      probe: 'storefront',
      status: 'down',
      since: '2026-12-06T11:50:00.000Z',
      lastAt: '2026-12-06T11:59:00.000Z',
      lastOk: false,
      lastDetail: 'expected status 200, got 502',
      consecutiveFailures: 10,
      consecutiveSuccesses: 0,
      alerted: true,
    },
    'disk@i-0aaaaaaaaaaaaaaa1': {
      probe: 'disk',
      host: 'i-0aaaaaaaaaaaaaaa1',
      status: 'up',
      since: '2026-12-01T00:00:00.000Z',
      lastAt: '2026-12-06T11:59:00.000Z',
      lastOk: true,
      lastDetail: '41% used',
      consecutiveFailures: 0,
      consecutiveSuccesses: 700,
      alerted: false,
    },
  },
  today: {
    day: TODAY,
    probes: {
      storefront: { n: 720, ok: 710, lat: [0, 0, 0, 700, 0, 0, 0, 0, 0, 20, 0] },
      'disk@i-0aaaaaaaaaaaaaaa1': { n: 720, ok: 720 },
    },
  },
};
const yesterday = {
  day: YESTERDAY,
  probes: { storefront: { n: 1440, ok: 1440, lat: [0, 1440, 0, 0, 0, 0, 0, 0, 0, 0, 0] } },
};

function deployHistory(start: string, ref: string, outcome: 'succeeded' | 'failed') {
  const builder = new HistoryBuilder(new Date(start))
    .started({ target: 'shop', ref, requestedBy: 'ana (stepops deploy)' })
    .task('PlanDeploy', 'plan-deploy', { output: { plan: {} } });
  return outcome === 'succeeded'
    ? builder.succeeded({ outcome: 'succeeded' })
    : builder.failed('DeployFailedError', 'the health gate failed; the previous release is back');
}

/** A raw request with the console's cookie. */
function get(url: string, cookie?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { headers: cookie ? { cookie } : {} }, (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.once('error', reject);
      req.end();
    },
  );
}

beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'stepops-console-stage-'));
  process.env.STEPOPS_HOME = home;
  clearRegisteredTargets();
  registerTarget({
    ...ec2Target('shop'),
    deploy: { ...ec2Target('shop').deploy!, healthGate: { probes: ['storefront'], timeout: 60 } },
    health: {
      schedule: 'rate(1 minute)',
      probes: [
        { name: 'storefront', type: 'http', url: 'https://shop.example/health' },
        { name: 'disk', type: 'disk', mount: '/', maxUsedPercent: 90 },
      ],
    },
  });
  registerTarget(ec2Target('blog'));
  sfn.addExecution({
    stage: 'prod',
    name: 'shop-00000000000000a1',
    input: { target: 'shop', ref: 'v2' },
    history: deployHistory('2026-12-05T09:00:00Z', 'v2', 'succeeded'),
    status: 'SUCCEEDED',
  });
  sfn.addExecution({
    stage: 'prod',
    name: 'shop-00000000000000a2',
    input: { target: 'shop', ref: 'v3' },
    history: deployHistory('2026-12-06T10:00:00Z', 'v3', 'failed'),
    status: 'FAILED',
    end: { status: 'FAILED', error: 'DeployFailedError', cause: 'the health gate failed' },
  });
  sfn.addExecution({
    stage: 'prod',
    name: 'blog-00000000000000b1',
    input: { target: 'blog', ref: 'v9' },
    history: deployHistory('2026-12-06T08:00:00Z', 'v9', 'succeeded'),
    status: 'SUCCEEDED',
  });
  dynamo.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
    const key = input.Key?.pk?.S;
    if (key && denied.has(key)) {
      throw Object.assign(new Error('User is not authorized to perform: dynamodb:GetItem'), {
        name: 'AccessDeniedException',
      });
    }
    if (key === 'health#shop') return { Item: healthItem('shop', JSON.stringify(state), 12, new Date(NOW)) };
    if (key === healthDayKey('shop', YESTERDAY)) {
      const item: Record<string, AttributeValue> = { pk: { S: key }, body: { S: JSON.stringify(yesterday) } };
      return { Item: item };
    }
    return {};
  });
});

afterAll(() => {
  sfn.mock.restore();
  dynamo.restore();
  clearRegisteredTargets();
  for (const [name, value] of [
    ['STEPOPS_HOME', saved.home],
    ['STEPOPS_STATE_TABLE', saved.table],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(home, { recursive: true, force: true });
});

describe('the console on a stage', () => {
  it("reads the target's runs, health state and latency history with exact calls, and only its own executions", async () => {
    // Prepare
    const data = await consoleData({ stage: 'prod' }, { sfn: sfn.client, env, now: () => NOW });
    sfn.mock.resetHistory();
    dynamo.resetHistory();

    // Act
    const view = await targetView(data, findTarget('shop'), { report: true });

    // Assess: runs, newest first, the blog's left out without being described
    expect(view.recent.map((r) => [r.runId, r.status, r.ref])).toEqual([
      ['shop-00000000000000a2', 'FAILED', 'v3'],
      ['shop-00000000000000a1', 'SUCCEEDED', 'v2'],
    ]);
    expect(view.lastDeploy).toMatchObject({ runId: 'shop-00000000000000a2', error: 'DeployFailedError' });
    const listed = sfn.mock.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input.stateMachineArn);
    expect(new Set(listed)).toEqual(
      new Set(['deploy', 'backup', 'recover'].map((w) => machineArn(`stepops-prod-${w}`))),
    );
    expect(
      sfn.mock
        .commandCalls(DescribeExecutionCommand)
        .map((c) => c.args[0].input)
        .sort((a, b) => String(a.executionArn).localeCompare(String(b.executionArn))),
    ).toEqual([
      { executionArn: executionArnOf('stepops-prod-deploy', 'shop-00000000000000a1') },
      { executionArn: executionArnOf('stepops-prod-deploy', 'shop-00000000000000a2') },
    ]);
    // The health state: one strongly consistent read of the state item of the stage's table.
    const reads = dynamo.commandCalls(GetItemCommand).map((c) => c.args[0].input);
    expect(reads.filter((r) => r.Key?.pk?.S === 'health#shop')).toEqual([
      { TableName: 'stepops-prod-state', Key: { pk: { S: 'health#shop' } }, ConsistentRead: true },
    ]);
    // The latency history: one read of each finished day of the last 30 (today is in the state).
    const dayReads = reads.filter((r) => r.Key?.pk?.S?.startsWith('healthday#'));
    expect(dayReads.map((r) => r.Key?.pk?.S).sort()).toEqual(
      lastDays(new Date(NOW), 30)
        .slice(0, -1)
        .map((day) => `healthday#shop#${day}`),
    );
    expect(new Set(dayReads.map((r) => r.TableName))).toEqual(new Set(['stepops-prod-state']));
    expect(view.probes).toEqual([
      expect.objectContaining({
        probe: 'storefront',
        status: 'down',
        lastDetail: 'expected status 200, got 502',
      }),
      expect.objectContaining({ probe: 'disk', host: 'i-0aaaaaaaaaaaaaaa1', status: 'up' }),
    ]);
    // ≤25 ms all day yesterday; today 700 of 720 at ≤100 ms and 20 at ≤10 s.
    const latency = view.latency === 'unknown' ? {} : (view.latency ?? {});
    expect(Object.keys(latency)).toEqual(['storefront']);
    expect(latency.storefront?.slice(-2)).toEqual([
      { day: YESTERDAY, checks: 1440, p50: 25, p95: 25, p99: 25 },
      { day: TODAY, checks: 720, p50: 100, p95: 100, p99: 10_000 },
    ]);
  });

  it('shows a state that cannot be read as unknown, not as healthy', async () => {
    // Prepare
    const data = await consoleData({ stage: 'prod' }, { sfn: sfn.client, env, now: () => NOW });
    denied.add('health#shop');
    denied.add(healthDayKey('shop', YESTERDAY));

    // Act
    const view = await targetView(data, findTarget('shop'), { report: true });

    // Assess
    expect(view.probes).toBe('unknown');
    expect(healthWord(view)).toBe('unknown');
    expect(view.latency).toBe('unknown');
    denied.clear();
  });

  it('serves the target page and the run page with its link to the execution in the AWS console', async () => {
    // Prepare
    let server: ConsoleServer | undefined;
    try {
      server = await startConsole(
        await consoleData({ stage: 'prod' }, { sfn: sfn.client, env, now: () => NOW }),
        {
          by: 'unit test',
        },
      );
      const first = await get(server.url);
      const cookie = String((first.headers['set-cookie'] as string[])[0]).split(';')[0]!;
      const base = `http://127.0.0.1:${server.port}`;

      // Act
      const target = await get(`${base}/targets/shop`, cookie);
      const run = await get(`${base}/runs/shop-00000000000000a2`, cookie);

      // Assess
      expect(target.status).toBe(200);
      expect(target.body).toContain('stepops console · stage prod');
      expect(target.body).toContain('<h2>Latency</h2>');
      expect(target.body).toContain(
        'aria-label="storefront latency over 30 days, 2 measured; 2026-12-06: p50 ≤ 100 ms, p95 ≤ 100 ms, p99 ≤ 10 s"',
      );
      expect(run.status).toBe(200);
      expect(run.body).toContain('DeployFailedError');
      expect(run.body).toContain(
        `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${executionArnOf('stepops-prod-deploy', 'shop-00000000000000a2')}`,
      );
    } finally {
      await server?.close();
    }
  });

  it("writes the stage's status page from its state items: public probes only", async () => {
    // Prepare
    const data = await consoleData({ stage: 'prod' }, { sfn: sfn.client, env, now: () => NOW });

    // Act
    const file = await writeStatusPage(data);

    // Assess
    expect(file).toBe(path.join(home, 'status', 'prod', 'index.html'));
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('<title>Status: prod</title>');
    expect(page).toContain('✖ Down now: shop storefront');
    expect(page).not.toContain('disk');
    expect(page).not.toContain('shop.example');
    expect(page).not.toContain('i-0aaaaaaaaaaaaaaa1');
  });
});
