/**
 * check-freshness and record-restore-test, the two backup functions that only read and write the
 * catalogue, run as the stack deploys them (the backups table in `STEPOPS_BACKUP_TABLE`, named as
 * the stack renders it): DynamoDB is mocked at the command level by a small table that keeps the
 * items it is given; every call is recorded and checked against each function's IAM policy, and
 * every permission those policies grant must be used by a call.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  return before;
});

import { clearRegisteredTargets, findTarget, registerTarget } from '../../shared/config/registry.ts';
import type { CatalogueEntry } from '../../shared/drivers/ports.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import type { Ec2Target } from '../../stacks/settings.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { checkCalls, formatDenials, unusedPermissions } from './check.ts';
import { expectRecordedCallsAllowed, stagePolicies } from './record-calls.ts';
import { recordedCalls } from './recorder.ts';

const TARGET = 'ledger';
const DAY = 86_400_000;
const dynamo = mockClient(DynamoDBClient);
/** The backups table: items by `job` and `runId`, as PutItem gave them. */
const items = new Map<string, Record<string, AttributeValue>>();
const keyOf = (item: Record<string, AttributeValue>) => `${item.job?.S}|${item.runId?.S}`;

function fakeTable(): void {
  dynamo.on(GetItemCommand).callsFake((input) => {
    const found = items.get(keyOf(input.Key));
    return found ? { Item: found } : {};
  });
  dynamo.on(PutItemCommand).callsFake((input) => {
    const key = keyOf(input.Item);
    // The two conditions the catalogue sends: a create, and a replace over the outcome it read.
    if (input.ConditionExpression === 'attribute_not_exists(#job)' && items.has(key)) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
    if (
      input.ConditionExpression === '#outcome = :outcome' &&
      items.get(key)?.outcome?.S !== input.ExpressionAttributeValues[':outcome'].S
    ) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
    items.set(key, input.Item);
    return {};
  });
  dynamo.on(QueryCommand).callsFake((input) => {
    const value = Object.values(input.ExpressionAttributeValues ?? {})[0] as AttributeValue;
    const field = input.IndexName ? 'target' : 'job';
    return { Items: [...items.values()].filter((i) => i[field]?.S === value.S) };
  });
}

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

function put(entry: CatalogueEntry): void {
  items.set(`${entry.target}#${entry.backup}|${entry.runId}`, {
    job: { S: `${entry.target}#${entry.backup}` },
    runId: { S: entry.runId },
    target: { S: entry.target },
    startedAt: { S: entry.startedAt },
    outcome: { S: entry.outcome },
    entry: { S: JSON.stringify(entry) },
  });
}

beforeAll(async () => {
  registerTarget({
    name: TARGET,
    description: 'a target with one snapshot backup under an RPO',
    hosts: {
      type: 'ec2',
      region: REGION,
      tags: { App: TARGET },
      user: 'ubuntu',
      workingDirectory: '/srv/app',
    },
    backup: [
      {
        name: 'volumes',
        type: 'ebs-snapshot',
        schedule: 'cron(0 2 * * ? *)',
        retention: { count: 3 },
        rpoHours: 24,
      },
    ],
  } as never);
  // The stage's tables, as the stack names them and gives them to the backup functions.
  const policies = await stagePolicies([findTarget(TARGET) as Ec2Target]);
  const resources = (policies.get('check-freshness') ?? []).flatMap((p) =>
    p.statements.flatMap((s) => [s.Resource ?? []].flat()),
  );
  const table = resources.map((r) => /:table\/([^/]+)$/.exec(String(r))?.[1]).find(Boolean);
  if (!table) throw new Error(`no backups table in check-freshness's policy: ${resources.join(', ')}`);
  process.env.STEPOPS_BACKUP_TABLE = table;
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:stepops-test-alerts`;
  fakeTable();
}, 600_000);
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  dynamo.restore();
});

const entry = (runId: string, daysAgo: number): CatalogueEntry => {
  const startedAt = new Date(Date.now() - daysAgo * DAY).toISOString();
  return {
    target: TARGET,
    backup: 'volumes',
    runId,
    kind: 'ebs-snapshot',
    location: `ec2:${REGION}:snap-0${runId.padStart(16, '0')}`,
    resources: [{ id: `snap-0${runId.padStart(16, '0')}`, region: REGION }],
    startedAt,
    finishedAt: startedAt,
    outcome: 'good',
  };
};

describe('the catalogue functions on the backups table', () => {
  it('check-freshness finds the job stale when its newest good copy is older than its RPO', async () => {
    // Prepare
    put(entry('run-old', 2));

    // Act
    const result = await invoke<{ stale: { backup: string }[]; checked: number }>('check-freshness', {
      target: TARGET,
      runId: 'run-fresh-1',
    });

    // Assess
    expect(result.checked).toBe(1);
    expect(result.stale.map((s) => s.backup)).toEqual(['volumes']);
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, { TableName: process.env.STEPOPS_BACKUP_TABLE });
  });

  it('record-restore-test writes the result into the tested copy’s entry, conditioned on its outcome', async () => {
    // Prepare
    put(entry('run-tested', 1));

    // Act
    const result = await invoke<{ outcome: string }>('record-restore-test', {
      target: TARGET,
      runId: 'run-test-1',
      job: { name: 'volumes', type: 'ebs-snapshot' },
      attempt: {
        status: {
          status: 'passed',
          detail: 'volume restored and mounted',
          polls: 2,
          handle: {
            target: TARGET,
            runId: 'run-test-1',
            backup: 'volumes',
            kind: 'ebs-snapshot',
            copyRunId: 'run-tested',
            deadline: Date.now() + DAY,
          },
        },
      },
    });

    // Assess
    expect(result.outcome).toBe('passed');
    const stored = JSON.parse(String(items.get(`${TARGET}#volumes|run-tested`)?.entry?.S)) as CatalogueEntry;
    expect(stored).toMatchObject({ outcome: 'good', restoreTest: { ok: true, runId: 'run-test-1' } });
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: '#outcome = :outcome',
      ExpressionAttributeValues: { ':outcome': { S: 'good' } },
    });
  });

  it('uses every permission the stacks grant the two functions: none is granted beyond their calls', async () => {
    // Prepare
    const calls = await Promise.all(
      recordedCalls()
        .filter((c) => c.functionName === 'check-freshness' || c.functionName === 'record-restore-test')
        .map(async (c) => ({ ...c, region: (await c.region) ?? REGION })),
    );
    const policies = await stagePolicies([findTarget(TARGET) as Ec2Target]);

    // Act
    const result = await checkCalls(calls, policies);

    // Assess
    expect(formatDenials(result.denials)).toBe('');
    expect(unusedPermissions(result.used, policies)).toEqual([]);
    expect([...result.used.keys()].sort()).toEqual(['check-freshness', 'record-restore-test']);
  }, 600_000);

  it("sends only calls each function's IAM policy allows, as the stacks render it", async () => {
    await expectRecordedCallsAllowed();
  }, 600_000);
});
