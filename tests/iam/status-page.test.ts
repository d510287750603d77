/**
 * publish-status-page through its real handler in the stage's configuration (the environment
 * stacks/health.ts gives it with a status page): it reads every target's health state item
 * (GetItem each, the stored state brotli-compressed) and puts the rendered page into the stage's
 * bucket. AWS is mocked at the command level: the exact inputs are asserted, and every call is
 * checked against the function's IAM policy as the stacks render it (every granted action used).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // What stacks/health.ts gives publish-status-page in a stage named `test` with a status page.
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
  process.env.STEPOPS_STATUS_BUCKET = 'stepops-test-status-123456789012';
  process.env.STEPOPS_STATUS_TITLE = 'test';
  process.env.STEPOPS_STATUS_TARGETS = 'shopfront,backoffice';
  return before;
});

import { clearRegisteredTargets, findTarget, registerTarget } from '../../shared/config/registry.ts';
import { healthItem } from '../../shared/drivers/aws/dynamo-health-store.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import type { Ec2Target } from '../../stacks/settings.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { checkCalls, formatDenials, unusedPermissions } from './check.ts';
import { stagePolicies } from './record-calls.ts';
import { recordedCalls } from './recorder.ts';

const dynamo = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const NOW = Date.now();
const since = new Date(NOW - 600_000).toISOString();

function invoke<T>(event: unknown): Promise<T> {
  return withinInvocation({ functionName: 'publish-status-page' }, async () => {
    const { handler } = (await import('../../functions/publish-status-page/handler.ts')) as {
      handler: (event: unknown, context: unknown) => Promise<T>;
    };
    return handler(
      event,
      createLambdaContext({
        arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:publish-status-page`,
        timeoutSeconds: 25,
      }),
    );
  });
}

function ec2Target(name: string, probes: unknown[]) {
  return {
    name,
    description: `${name} for the status page`,
    hosts: { type: 'ec2', region: REGION, tags: { App: name }, user: 'ubuntu', workingDirectory: '/srv/app' },
    health: { schedule: 'rate(1 minute)', probes },
  } as never;
}

/** The stored state of shopfront: its public probe down for 10 minutes, its host probe up. */
const shopfrontState = {
  target: 'shopfront',
  version: 7,
  recoveries: [],
  probes: {
    storefront: {
      probe: 'storefront',
      status: 'down',
      since,
      lastAt: since,
      lastOk: false,
      lastDetail: 'expected status 200, got 503 from https://internal.example/health',
      consecutiveFailures: 10,
      consecutiveSuccesses: 0,
      alerted: true,
    },
    'disk@i-0aaaaaaaaaaaaaaa1': {
      probe: 'disk',
      host: 'i-0aaaaaaaaaaaaaaa1',
      status: 'up',
      since,
      lastAt: since,
      lastOk: true,
      lastDetail: '41% used',
      consecutiveFailures: 0,
      consecutiveSuccesses: 10,
      alerted: false,
    },
  },
};

beforeAll(() => {
  registerTarget(
    ec2Target('shopfront', [
      { name: 'storefront', type: 'http', url: 'https://shop.example/health', timeout: 5 },
      { name: 'disk', type: 'disk', mount: '/', maxUsedPercent: 90 },
    ]),
  );
  registerTarget(
    ec2Target('backoffice', [
      { name: 'admin', type: 'http', url: 'https://admin.example/health', timeout: 5 },
    ]),
  );
});
beforeEach(() => {
  dynamo.reset();
  s3.reset();
  dynamo.on(GetItemCommand, { Key: { pk: { S: 'health#shopfront' } } }).resolves({
    Item: healthItem('shopfront', JSON.stringify(shopfrontState), 7, new Date(NOW)),
  });
  // Never checked yet: no item.
  dynamo.on(GetItemCommand, { Key: { pk: { S: 'health#backoffice' } } }).resolves({});
  s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  dynamo.restore();
  s3.restore();
});

describe('publish-status-page on a stage', () => {
  it("reads each of the stage's targets' state items and puts the page, public probes only, into the bucket", async () => {
    // Act
    const result = await invoke<{
      published: boolean;
      location: string;
      targets: number;
      unreadable: string[];
    }>({ target: 'shopfront', runId: 'health-shopfront-1' });

    // Assess
    expect(result).toMatchObject({
      published: true,
      location: 's3://stepops-test-status-123456789012/index.html',
      targets: 2,
      unreadable: [],
    });
    expect(dynamo.commandCalls(GetItemCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: 'stepops-test-state', Key: { pk: { S: 'health#shopfront' } }, ConsistentRead: true },
      { TableName: 'stepops-test-state', Key: { pk: { S: 'health#backoffice' } }, ConsistentRead: true },
    ]);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toEqual([
      {
        Bucket: 'stepops-test-status-123456789012',
        Key: 'index.html',
        Body: expect.any(String),
        ContentType: 'text/html; charset=utf-8',
        CacheControl: 'public, max-age=60',
      },
    ]);
    const page = String(puts[0]?.Body);
    expect(page).toContain('<title>Status: test</title>');
    expect(page).toContain('✖ Down now: shopfront storefront');
    expect(page).toMatch(/<td>admin<\/td><td class="muted">unknown<\/td>/);
    // No host, no internal URL, no detail of a check, no host-side probe.
    for (const secret of [
      'i-0aaaaaaaaaaaaaaa1',
      'internal.example',
      'shop.example',
      'expected status',
      'disk',
    ]) {
      expect(page).not.toContain(secret);
    }
  });

  it('publishes with a target unknown when its state cannot be read, and throws when the put is refused', async () => {
    // Prepare
    dynamo
      .on(GetItemCommand, { Key: { pk: { S: 'health#backoffice' } } })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }));

    // Act
    const partial = await invoke<{ unreadable: string[] }>({
      target: 'shopfront',
      runId: 'health-shopfront-2',
    });
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const refused = invoke({ target: 'shopfront', runId: 'health-shopfront-3' });

    // Assess
    expect(partial.unreadable).toEqual(['backoffice']);
    await expect(refused).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('refuses an input that is not a health run, before any call', async () => {
    const refused = await invoke({ target: 'Not A Target', runId: 'x' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
    expect(String((refused as Error).message)).toBe('Failed to parse schema');
    expect((refused as Error).name).toBe('ParseError');
    expect(JSON.stringify((refused as { cause?: unknown }).cause)).toContain('expected a target name');
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(0);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('uses every permission the stacks grant publish-status-page: none beyond its calls', async () => {
    // Prepare
    const calls = await Promise.all(
      recordedCalls()
        .filter((c) => c.functionName === 'publish-status-page')
        .map(async (c) => ({ ...c, region: (await c.region) ?? REGION })),
    );
    const policies = await stagePolicies(
      // In the registry's order, as the check after this file renders the same stage (one rendering a process).
      [findTarget('backoffice'), findTarget('shopfront')] as Ec2Target[],
      'test',
      REGION,
      'website',
    );

    // Act
    const result = await checkCalls(calls, policies);

    // Assess
    expect(calls.length).toBeGreaterThan(0);
    expect(formatDenials(result.denials)).toBe('');
    expect(unusedPermissions(result.used, policies)).toEqual([]);
    expect([...(result.used.get('publish-status-page') ?? [])].sort()).toEqual([
      'dynamodb:GetItem',
      's3:PutObject',
    ]);
  }, 600_000);
});
