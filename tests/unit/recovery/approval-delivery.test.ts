/**
 * An approval is recorded as answered only once the waiting run was told: when SendTaskSuccess /
 * SendTaskFailure fails, the approval is open again (a throttled answer can be given once more) or
 * the answer says that the run has ended; never "approved" in the store while the run waits on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answerRun } from '../../../cli/commands/recover.ts';
import type { Output } from '../../../cli/output.ts';
import { recordLocalRun } from '../../../cli/runs/local.ts';
import { handleApproval } from '../../../shared/api/approval.ts';
import { DynamoApprovalStore } from '../../../shared/drivers/aws/dynamo-approval-store.ts';
import { EngineTaskAnswerer } from '../../../shared/drivers/local/engine-task-answerer.ts';
import { FileApprovalStore } from '../../../shared/drivers/local/file-approval-store.ts';
import type { TaskAnswerer } from '../../../shared/drivers/ports.ts';
import { TaskTokens } from '../../../shared/engine/callback.ts';
import { answerApproval, approvalLink } from '../../../shared/recovery/approval.ts';
import { ApprovalNotDeliveredError, ApprovalRunEndedError } from '../../../shared/recovery/errors.ts';

/** dynalite, a DynamoDB-compatible server (it ships no type declarations). */
const dynalite = createRequire(import.meta.url)('dynalite') as (options: { createTableMs: number }) => Server;

const NOW = 1_800_000_000;
const SECRET = 'k'.repeat(64);

let home: string;
let store: FileApprovalStore;

beforeEach(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-approval-delivery-'));
  store = new FileApprovalStore({ home: () => home, now: () => NOW });
  await store.put({
    runId: 'run-1',
    target: 't',
    runbook: 'rb',
    token: 'tok-1',
    expiresAt: NOW + 600,
    status: 'pending',
  });
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** An answerer that fails with the named AWS error `failures` times, then answers. */
function flakyAnswerer(errorName: string, failures: number): TaskAnswerer & { told: string[] } {
  const told: string[] = [];
  let left = failures;
  const attempt = async (what: string) => {
    if (left-- > 0) throw Object.assign(new Error('Rate exceeded'), { name: errorName });
    told.push(what);
  };
  return {
    told,
    succeed: (token) => attempt(`success ${token}`),
    fail: (token, error) => attempt(`failure ${token} ${error}`),
  };
}

describe('answerApproval when the run cannot be told', () => {
  it('opens the approval again after a throttled SendTaskSuccess, so that the next answer reaches the run', async () => {
    // Prepare
    const answerer = flakyAnswerer('ThrottlingException', 1);

    // Act
    const first = answerApproval({ runId: 'run-1', decision: 'approved', by: 'ana' }, store, answerer);
    await expect(first).rejects.toThrow(ApprovalNotDeliveredError);
    const between = await store.get('run-1');
    await answerApproval({ runId: 'run-1', decision: 'approved', by: 'ana' }, store, answerer);

    // Assess
    expect(between?.status).toBe('pending');
    expect(answerer.told).toEqual(['success tok-1']);
    expect((await store.get('run-1'))?.status).toBe('approved');
  });

  it('says that the run has ended when the local engine no longer knows the token, and leaves it unanswered', async () => {
    // Prepare: a token the engine's registry has never issued (as TaskDoesNotExist / InvalidToken on AWS)
    const answerer = new EngineTaskAnswerer(new TaskTokens());

    // Act
    const answer = answerApproval({ runId: 'run-1', decision: 'rejected', by: 'bo' }, store, answerer);

    // Assess
    await expect(answer).rejects.toThrow(ApprovalRunEndedError);
    await expect(answer).rejects.toThrow('run run-1 no longer waits for approval');
    expect((await store.get('run-1'))?.status).toBe('pending');
  });

  it('never writes the task token into the error it reports', async () => {
    // Prepare
    const answerer: TaskAnswerer = {
      succeed: async (token) => {
        throw Object.assign(new Error(`service unavailable for ${token}`), { name: 'ServiceUnavailable' });
      },
      fail: async () => {},
    };

    // Act
    const answer = answerApproval({ runId: 'run-1', decision: 'approved', by: 'ana' }, store, answerer);

    // Assess
    await expect(answer).rejects.toThrow(/service unavailable for <task token>/);
    await expect(answer).rejects.not.toThrow(/tok-1/);
  });
});

describe('the approval endpoint when the run cannot be told', () => {
  const logger = { info: () => {}, warn: () => {}, error: () => {} };
  const link = approvalLink(
    { baseUrl: 'https://api.example.com', secret: SECRET },
    'run-1',
    'approved',
    NOW + 600,
  );
  const url = new URL(link);
  const post = {
    pathParameters: { runId: 'run-1', decision: 'approve' },
    queryStringParameters: {
      expires: url.searchParams.get('expires') ?? '',
      signature: url.searchParams.get('signature') ?? '',
    },
    requestContext: { http: { method: 'POST', sourceIp: '192.0.2.1' } },
  } as unknown as APIGatewayProxyEventV2;

  it('answers 503 when SendTaskSuccess was throttled, and the same link then approves the run (not 409)', async () => {
    // Prepare
    const answerer = flakyAnswerer('ThrottlingException', 1);
    const deps = { store, answerer, secret: async () => SECRET, logger, now: () => NOW * 1000 };

    // Act
    const throttled = await handleApproval(post, deps);
    const again = await handleApproval(post, deps);

    // Assess
    expect(throttled.statusCode).toBe(503);
    expect(throttled.body).toContain('<h1>The run could not be told</h1>');
    expect(throttled.body).toContain('the approval is still open');
    expect(again.statusCode).toBe(200);
    expect(answerer.told).toEqual(['success tok-1']);
  });

  it('answers 410 when the run has ended (TaskTimedOut)', async () => {
    // Prepare
    const answerer = flakyAnswerer('TaskTimedOut', 5);

    // Act
    const response = await handleApproval(post, {
      store,
      answerer,
      secret: async () => SECRET,
      logger,
      now: () => NOW * 1000,
    });

    // Assess
    expect(response.statusCode).toBe(410);
    expect(response.body).toContain('<h1>This run no longer waits for approval</h1>');
    expect(response.body).toContain('<p>run run-1 no longer waits for approval');
  });

  it('logs why an answer did not reach the run, naming the run and the decision', async () => {
    // Prepare
    const logged: [string, string, unknown][] = [];
    const recording = {
      info: () => {},
      warn: (message: string, ...fields: unknown[]) => {
        logged.push(['warn', message, fields[0]]);
      },
      error: (message: string, ...fields: unknown[]) => {
        logged.push(['error', message, fields[0]]);
      },
    };
    const deps = (answerer: TaskAnswerer) => ({
      store,
      answerer,
      secret: async () => SECRET,
      logger: recording,
      now: () => NOW * 1000,
    });

    // Act
    await handleApproval(post, deps(flakyAnswerer('ThrottlingException', 1)));
    await handleApproval(post, deps(flakyAnswerer('TaskTimedOut', 5)));

    // Assess
    expect(logged).toEqual([
      [
        'error',
        'approval not delivered to the run',
        { runId: 'run-1', decision: 'approved', reason: expect.stringContaining('ThrottlingException') },
      ],
      ['warn', 'approval answered after the run ended', { runId: 'run-1', decision: 'approved' }],
    ]);
  });

  it('refuses a request without a run or decision in its path, logging an empty run id', async () => {
    // Prepare
    const logged: unknown[] = [];
    const recording = {
      info: () => {},
      warn: (_message: string, ...fields: unknown[]) => {
        logged.push(fields[0]);
      },
      error: () => {},
    };
    const bare = { ...post, pathParameters: {} } as unknown as APIGatewayProxyEventV2;

    // Act
    const response = await handleApproval(bare, {
      store,
      answerer: flakyAnswerer('ThrottlingException', 0),
      secret: async () => SECRET,
      logger: recording,
      now: () => NOW * 1000,
    });

    // Assess
    expect(response.statusCode).toBe(403);
    expect(logged).toEqual([{ runId: '', reason: expect.any(String) }]);
  });

  it("names the step on a step approval's confirmation page", async () => {
    // Prepare
    const stepLink = new URL(
      approvalLink(
        { baseUrl: 'https://api.example.com', secret: SECRET },
        'run-1',
        'approved',
        NOW + 600,
        'swap',
      ),
    );
    const get = {
      pathParameters: { runId: 'run-1', decision: 'approve' },
      queryStringParameters: Object.fromEntries(stepLink.searchParams),
      requestContext: { http: { method: 'GET', sourceIp: '192.0.2.1' } },
    } as unknown as APIGatewayProxyEventV2;

    // Act
    const response = await handleApproval(get, {
      store,
      answerer: flakyAnswerer('ThrottlingException', 0),
      secret: async () => SECRET,
      logger,
      now: () => NOW * 1000,
    });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<h1>Approve step swap of recovery run run-1?</h1>');
  });
});

function capture(): Output & { text(): string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

describe('stepops approve of a run that has ended', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('a local run: says it has ended, exits 1 and answers nothing', async () => {
    // Prepare: a local run that was aborted while it waited for approval
    process.env.STEPOPS_HOME = home;
    process.env.STEPOPS_STATE_TABLE = '';
    const recording = recordLocalRun('recover', { target: 't', runId: 'run-1' });
    recording.finish({ status: 'FAILED', error: 'States.Aborted' });
    const local = new FileApprovalStore({ home: () => home });
    const out = capture();

    // Act
    const code = await answerRun('run-1', 'approved', { output: out, by: 'ana' });

    // Assess
    expect(code).toBe(1);
    expect(out.text()).toContain('run run-1 has already ended (ABORTED');
    expect((await local.get('run-1'))?.status).toBe('pending');
  });

  describe('a run on a stage (DynamoDB, Step Functions)', () => {
    const sfn = mockClient(SFNClient);
    let server: Server;
    let endpoint: string;

    beforeAll(async () => {
      server = dynalite({ createTableMs: 0 });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = new DynamoDBClient({
        endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      await client.send(
        new CreateTableCommand({
          TableName: 'stepops-test-state',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    });
    afterAll(async () => {
      sfn.restore();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('SendTaskSuccess answers TaskTimedOut: says the run no longer waits, exits 1, and the record is pending again', async () => {
      // Prepare: the SDK reads the endpoint from AWS_ENDPOINT_URL_DYNAMODB (SDK service-specific endpoints)
      Object.assign(process.env, {
        STEPOPS_STATE_TABLE: 'stepops-test-state',
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      });
      const dynamo = new DynamoApprovalStore('stepops-test-state', {
        client: new DynamoDBClient({
          endpoint,
          region: 'eu-west-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        }),
      });
      const now = Math.floor(Date.now() / 1000);
      await dynamo.put({
        runId: 'stage-run-1',
        target: 't',
        runbook: 'rb',
        token: 'AQCEAAAAKgAAAAMAAAAA-token',
        expiresAt: now + 3600,
        status: 'pending',
      });
      sfn.on(SendTaskSuccessCommand).rejects(
        new TaskTimedOut({
          message: 'Task Timed Out: the task of this token has already been closed',
          $metadata: {},
        }),
      );
      const out = capture();

      // Act
      const code = await answerRun('stage-run-1', 'approved', { output: out, by: 'ana' });

      // Assess
      expect(code).toBe(1);
      expect(out.text()).toContain('run stage-run-1 no longer waits for approval');
      expect(out.text()).toContain('TaskTimedOut');
      expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
      expect(await dynamo.get('stage-run-1')).toMatchObject({ status: 'pending' });
      expect((await dynamo.get('stage-run-1'))?.answeredBy).toBeUndefined();
    });

    it('reopen leaves an answer given by someone else untouched', async () => {
      // Prepare
      const dynamo = new DynamoApprovalStore('stepops-test-state', {
        client: new DynamoDBClient({
          endpoint,
          region: 'eu-west-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        }),
      });
      await dynamo.put({
        runId: 'stage-run-2',
        target: 't',
        runbook: 'rb',
        token: 'tok',
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
        status: 'pending',
      });
      await dynamo.answer('stage-run-2', 'rejected', 'bo');

      // Act
      await dynamo.reopen('stage-run-2', 'approved', 'ana');
      await dynamo.reopen('stage-run-2', 'rejected', 'ana');

      // Assess
      expect(await dynamo.get('stage-run-2')).toMatchObject({ status: 'rejected', answeredBy: 'bo' });
    });
  });
});
