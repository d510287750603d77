/**
 * The AWS adapters of scheduled health checks, on exact command inputs: the DynamoDB state store's
 * conditional writes, the recover state machine's StartExecution (idempotent per run), and the EC2
 * status probe chunked to 100 ids a call; the local store and recovery record for real.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeInstanceStatusCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoHealthStore } from '../../../shared/drivers/aws/dynamo-health-store.ts';
import { SfnRecoveryStarter } from '../../../shared/drivers/aws/sfn-recovery-starter.ts';
import { FileHealthStore } from '../../../shared/drivers/local/file-health-store.ts';
import { RecordedRecoveryStarter } from '../../../shared/drivers/local/recorded-recovery-starter.ts';
import type { HostRef } from '../../../shared/drivers/ports.ts';
import { ec2StatusProbe } from '../../../shared/health/probe.ts';

const dynamo = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);
const ec2 = mockClient(EC2Client);
const NOW = new Date('2026-03-02T10:00:00Z');

beforeEach(() => {
  dynamo.reset();
  sfn.reset();
  ec2.reset();
});

describe('DynamoHealthStore', () => {
  const store = () =>
    new DynamoHealthStore('stepops-state', {
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      now: () => NOW,
    });

  // The conditions run against dynalite in dynamo-health-store.test.ts; what stays here is what a
  // local server cannot show: throttling rethrown, and reads asked consistent (dynalite always is).
  it('answers false when another run wrote first, and rethrows anything else', async () => {
    // Prepare
    dynamo
      .on(PutItemCommand)
      .rejectsOnce(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      )
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }),
      );

    // Act / Assess
    await expect(store().write('zmanim', '{}', 3)).resolves.toBe(false);
    await expect(store().write('zmanim', '{}', 3)).rejects.toThrow('Rate exceeded');
  });

  it('reads consistently, and nothing stored reads as undefined', async () => {
    // Prepare
    dynamo
      .on(GetItemCommand)
      .resolvesOnce({ Item: { pk: { S: 'health#zmanim' }, version: { N: '7' }, body: { S: '{"x":1}' } } })
      .resolvesOnce({});

    // Act
    const found = await store().read('zmanim');
    const missing = await store().read('zmanim');

    // Assess
    expect(found).toEqual({ version: 7, body: '{"x":1}' });
    expect(missing).toBeUndefined();
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'stepops-state',
      Key: { pk: { S: 'health#zmanim' } },
      ConsistentRead: true,
    });
  });
});

describe('SfnRecoveryStarter', () => {
  const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:stepops-prod-recover';
  const request = {
    target: 'zmanim',
    runbook: 'restart-api',
    reason: 'api-health is down: expected status 200, got 503',
    runId: 'a1b2c3',
    requestedBy: 'stepops health',
  };

  it('starts the recover state machine with the runbook, named after the health run', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${ARN.replace('stateMachine', 'execution')}:x`, startDate: NOW });

    // Act
    const started = await new SfnRecoveryStarter(ARN, {
      client: new SFNClient({ region: 'eu-west-1' }),
    }).start(request);

    // Assess
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: ARN,
      name: 'zmanim-restart-api-a1b2c3',
      input: JSON.stringify({
        target: 'zmanim',
        runbook: 'restart-api',
        reason: request.reason,
        requestedBy: 'stepops health',
      }),
    });
    expect(started.executionId).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:x',
    );
  });

  it('finds the execution a retried invocation already started', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    // Act
    const started = await new SfnRecoveryStarter(ARN, {
      client: new SFNClient({ region: 'eu-west-1' }),
    }).start(request);

    // Assess
    expect(started.executionId).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:zmanim-restart-api-a1b2c3',
    );
  });
});

describe('ec2StatusProbe on a large fleet', () => {
  it('asks for at most 100 instance ids a call', async () => {
    // Prepare
    const hosts: HostRef[] = Array.from({ length: 250 }, (_, i) => ({
      kind: 'ec2',
      id: `i-${String(i).padStart(17, '0')}`,
      region: 'eu-west-1',
    }));
    ec2.on(DescribeInstanceStatusCommand).callsFake(async (input: { InstanceIds: string[] }) => ({
      InstanceStatuses: input.InstanceIds.map((id) => ({
        InstanceId: id,
        InstanceState: { Name: 'running' },
        InstanceStatus: { Status: 'ok' },
        SystemStatus: { Status: 'ok' },
      })),
    }));

    // Act
    const results = await ec2StatusProbe(
      { name: 'ec2', type: 'ec2-status' },
      hosts,
      () => new EC2Client({ region: 'eu-west-1' }),
    );

    // Assess
    const calls = ec2
      .commandCalls(DescribeInstanceStatusCommand)
      .map((c) => c.args[0].input.InstanceIds ?? []);
    expect(calls.map((ids) => ids.length)).toEqual([100, 100, 50]);
    expect(calls.flat()).toEqual(hosts.map((h) => h.id));
    expect(results.every((r) => r.ok)).toBe(true);
  });
});

describe('local health adapters, for real', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-health-adapters-'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it('FileHealthStore writes at the expected version only, with concurrent writers never both winning', async () => {
    // Prepare
    const store = new FileHealthStore({ home: () => home });

    // Act
    const first = await store.write('demo', '{"v":1}', 0);
    const race = await Promise.all(Array.from({ length: 8 }, (_, i) => store.write('demo', `{"w":${i}}`, 1)));
    const stale = await store.write('demo', '{"v":3}', 1);

    // Assess
    expect(first).toBe(true);
    expect(race.filter(Boolean)).toHaveLength(1);
    expect(stale).toBe(false);
    expect((await store.read('demo'))?.version).toBe(2);
  });

  it('RecordedRecoveryStarter records each request and tells the listener', async () => {
    // Prepare
    const seen: string[] = [];
    const starter = new RecordedRecoveryStarter({
      home: () => home,
      onStart: (r) => void seen.push(r.runbook),
    });

    // Act
    const { executionId } = await starter.start({
      target: 'demo',
      runbook: 'restart-app',
      reason: 'down',
      runId: 'r1',
      requestedBy: 'test',
    });

    // Assess
    expect(executionId).toBe('local-recovery-demo-restart-app-r1');
    expect(seen).toEqual(['restart-app']);
    expect(JSON.parse(await readFile(path.join(home, 'recoveries.jsonl'), 'utf8'))).toMatchObject({
      runbook: 'restart-app',
      runId: 'r1',
    });
  });
});
