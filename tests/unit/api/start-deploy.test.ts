/**
 * `POST /deploys` and `GET /deploys/{id}` through their real handlers, on API Gateway v2 events,
 * with SSM, DynamoDB and Step Functions mocked: what each request answers and what it starts.
 */
import { createHmac } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex, verifyGithubSignature } from '../../../shared/api/auth.ts';
import { ApiError } from '../../../shared/api/errors.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import { gateFailedDeploy, HistoryBuilder, historyPages } from '../../helpers/sfn-history.ts';
import { httpApiEvent, lambdaContext } from './events.ts';
import { API_TOKEN, ec2Target, GITHUB_VECTOR, STATE_MACHINE_ARN } from './fixtures.ts';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const WEBHOOK_SECRET_PARAM = '/stepops/test/github-webhook-secret';
const TOKEN_HASH_PARAM = '/stepops/test/api-token-sha256';
/** The handler caches secrets per container, so every test uses the secret of GitHub's test vector. */
const WEBHOOK_SECRET = GITHUB_VECTOR.secret;

const ssm = mockClient(SSMClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBClient);

let startDeploy: Handler;
let getDeploy: Handler;
let output = '';
const writes: ReturnType<typeof vi.spyOn>[] = [];

/** Executions "in Step Functions": StartExecution adds, DescribeExecution reads. */
let executions: Map<string, Partial<DescribeExecutionCommandOutput>>;

beforeAll(async () => {
  process.env.SST_RESOURCE_App = JSON.stringify({ name: 'stepops', stage: 'test' });
  process.env.SST_RESOURCE_DeployStateMachine = JSON.stringify({
    arn: STATE_MACHINE_ARN,
    name: 'stepops-test-deploy',
  });
  process.env.SST_RESOURCE_StateTable = JSON.stringify({ name: 'stepops-test-state' });
  process.env.SST_RESOURCE_ApiConfig = JSON.stringify({
    githubWebhookSecret: WEBHOOK_SECRET_PARAM,
    apiTokenHash: TOKEN_HASH_PARAM,
    targets: ['api-server', 'api-server-eu', 'demo'],
  });
  process.env.POWERTOOLS_DEV = 'false';
  startDeploy = (await import('../../../functions/start-deploy/handler.ts')).handler as unknown as Handler;
  getDeploy = (await import('../../../functions/get-deploy/handler.ts')).handler as unknown as Handler;
});

afterAll(() => clearRegisteredTargets());

beforeEach(() => {
  ssm.reset();
  sfn.reset();
  dynamo.reset();
  clearRegisteredTargets();
  registerTarget(ec2Target('api-server', 'acme/api-server'));
  registerTarget(ec2Target('api-server-eu'));

  ssm
    .on(GetParameterCommand, { Name: WEBHOOK_SECRET_PARAM })
    .resolves({ Parameter: { Value: WEBHOOK_SECRET } });
  ssm
    .on(GetParameterCommand, { Name: TOKEN_HASH_PARAM })
    .resolves({ Parameter: { Value: sha256Hex(API_TOKEN) } });
  dynamo.on(GetItemCommand).resolves({});
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });

  executions = new Map();
  sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => {
    const found = executions.get(executionArn);
    if (!found) throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    return found;
  });
  sfn.on(StartExecutionCommand).callsFake(({ name, input }: { name: string; input: string }) => {
    const arn = `arn:aws:states:eu-west-1:123456789012:execution:stepops-test-deploy:${name}`;
    if (executions.has(arn)) {
      throw new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
    }
    executions.set(arn, {
      executionArn: arn,
      status: 'RUNNING',
      input,
      startDate: new Date(),
      $metadata: {},
    });
    return { executionArn: arn, startDate: new Date() };
  });

  output = '';
  writes.length = 0;
  for (const stream of [process.stdout, process.stderr]) {
    writes.push(
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output += String(chunk);
        return true;
      }),
    );
  }
  return () => {
    for (const spy of writes) spy.mockRestore();
  };
});

function sign(body: string | Buffer, secret = WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function pushBody(
  overrides: { ref?: string; repository?: string; defaultBranch?: string | null; after?: string } = {},
): string {
  return JSON.stringify({
    ref: overrides.ref ?? 'refs/heads/main',
    before: '0000000000000000000000000000000000000000',
    after: overrides.after ?? 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    deleted: false,
    repository: {
      id: 1296269,
      full_name: overrides.repository ?? 'acme/api-server',
      ...(overrides.defaultBranch === null ? {} : { default_branch: overrides.defaultBranch ?? 'main' }),
    },
    pusher: { name: 'octocat', email: 'octocat@github.com' },
    sender: { login: 'octocat', id: 1 },
  });
}

function webhook(body: string, options: { event?: string; delivery?: string; signature?: string } = {}) {
  return httpApiEvent({
    method: 'POST',
    path: '/deploys',
    routeKey: 'POST /deploys',
    headers: {
      'content-type': 'application/json',
      'x-github-event': options.event ?? 'push',
      'x-github-delivery': options.delivery ?? '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-github-hook-id': '292430182',
      'x-hub-signature-256': options.signature ?? sign(body),
    },
    body,
  });
}

function tokenRequest(body: string | undefined, headers: Record<string, string> = {}) {
  return httpApiEvent({
    method: 'POST',
    path: '/deploys',
    routeKey: 'POST /deploys',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}`, ...headers },
    ...(body !== undefined ? { body } : {}),
  });
}

async function call(handler: Handler, event: APIGatewayProxyEventV2) {
  const response = await handler(event, lambdaContext());
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

describe('GitHub signature', () => {
  it("accepts GitHub's published test vector", () => {
    // Act & Assess
    expect(() =>
      verifyGithubSignature(
        GITHUB_VECTOR.secret,
        Buffer.from(GITHUB_VECTOR.payload),
        GITHUB_VECTOR.signature,
      ),
    ).not.toThrow();
  });

  it('rejects a signature off by one character, another secret, and a malformed header', () => {
    // Prepare
    const body = Buffer.from(GITHUB_VECTOR.payload);
    const offByOne = `${GITHUB_VECTOR.signature.slice(0, -1)}f`;

    // Act & Assess
    for (const [secret, header] of [
      [GITHUB_VECTOR.secret, offByOne],
      ['another secret', GITHUB_VECTOR.signature],
      [GITHUB_VECTOR.secret, GITHUB_VECTOR.signature.replace('sha256=', 'sha1=')],
      [GITHUB_VECTOR.secret, ''],
    ] as const) {
      expect(() => verifyGithubSignature(secret, body, header)).toThrow(ApiError);
    }
  });
});

describe('POST /deploys as a GitHub webhook', () => {
  it('answers a ping signed with the test vector 200 and starts nothing', async () => {
    // Prepare
    const event = webhook(GITHUB_VECTOR.payload, { event: 'ping', signature: GITHUB_VECTOR.signature });

    // Act
    const answer = await call(startDeploy, event);

    // Assess
    expect(answer).toEqual({ status: 200, body: { ok: true } });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('starts one execution for a push to the default branch, named after the delivery', async () => {
    // Prepare
    const event = webhook(pushBody());

    // Act
    const answer = await call(startDeploy, event);

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body.executionArn).toMatch(/:execution:stepops-test-deploy:api-server-[0-9a-f]{16}$/);
    expect(answer.body.consoleUrl).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${answer.body.executionArn}`,
    );
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const input = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(input.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(input.name).toBe(answer.body.id);
    expect(JSON.parse(input.input!)).toEqual({
      target: 'api-server',
      ref: 'main',
      reason: 'push to acme/api-server at a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      requestedBy: 'github:octocat',
    });
  });

  it('deploys a pushed tag', async () => {
    // Act
    const answer = await call(startDeploy, webhook(pushBody({ ref: 'refs/tags/v1.4.2' })));

    // Assess
    expect(answer.status).toBe(202);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!).ref).toBe('v1.4.2');
  });

  it('verifies the signature over the raw bytes of a base64-encoded body', async () => {
    // Prepare: non-ASCII in the body, so that re-encoding would change the bytes
    const body = Buffer.from(pushBody().replace('octocat@github.com', 'océane@github.com'), 'utf8');
    const event = {
      ...webhook(body.toString('utf8'), { signature: sign(body) }),
      body: body.toString('base64'),
      isBase64Encoded: true,
    };

    // Act
    const answer = await call(startDeploy, event);

    // Assess
    expect(answer.status).toBe(202);
  });

  it('answers 401 to a wrong signature and starts nothing', async () => {
    // Prepare
    const event = webhook(pushBody(), { signature: sign(pushBody(), 'not the secret') });

    // Act
    const answer = await call(startDeploy, event);

    // Assess
    expect(answer).toEqual({
      status: 401,
      body: { error: { code: 'Unauthorized', message: 'invalid webhook signature' } },
    });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it('starts one execution only when GitHub redelivers the same delivery', async () => {
    // Prepare
    const event = webhook(pushBody(), { delivery: 'f00dfeed-cc78-11e3-81ab-4c9367dc0958' });

    // Act
    const first = await call(startDeploy, event);
    const second = await call(startDeploy, event);

    // Assess
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.executionArn).toBe(first.body.executionArn);
    expect(second.body.replayed).toBe(true);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('answers the existing execution when a concurrent request started it first', async () => {
    // Prepare: DescribeExecution finds nothing, then StartExecution loses the race
    const event = webhook(pushBody());
    const arnOf = (name: string) =>
      `arn:aws:states:eu-west-1:123456789012:execution:stepops-test-deploy:${name}`;
    sfn.on(StartExecutionCommand).callsFake(({ name, input }: { name: string; input: string }) => {
      executions.set(arnOf(name), { executionArn: arnOf(name), status: 'RUNNING', input, $metadata: {} });
      throw new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
    });

    // Act
    const answer = await call(startDeploy, event);

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body.replayed).toBe(true);
  });

  it('ignores pushes to other branches and branch deletions', async () => {
    // Act
    const feature = await call(startDeploy, webhook(pushBody({ ref: 'refs/heads/feature/x' })));
    const deletedBody = JSON.stringify({ ...JSON.parse(pushBody()), deleted: true });
    const deleted = await call(startDeploy, webhook(deletedBody));

    // Assess
    expect(feature.status).toBe(200);
    expect(feature.body.ignored).toMatch(/default branch \(main\)/);
    expect(deleted.status).toBe(200);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('fails closed: a branch push whose event names no default branch deploys nothing', async () => {
    // Act
    const answer = await call(startDeploy, webhook(pushBody({ defaultBranch: null })));

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.ignored).toMatch(/no repository\.default_branch/);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  describe('a pushed commit a recent run deployed', () => {
    /** ListExecutions as Step Functions answers it: newest first, `statusFilter` applied, 2 per page. */
    function listFromExecutions() {
      sfn
        .on(ListExecutionsCommand)
        .callsFake(({ statusFilter, nextToken }: { statusFilter?: string; nextToken?: string }) => {
          const all = [...executions.values()]
            .filter((e) => !statusFilter || e.status === statusFilter)
            .sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0))
            .map((e) => ({
              executionArn: e.executionArn!,
              stateMachineArn: STATE_MACHINE_ARN,
              name: e.executionArn!.split(':').pop()!,
              status: e.status!,
              startDate: e.startDate!,
            }));
          const from = nextToken ? Number(nextToken) : 0;
          return {
            executions: all.slice(from, from + 2),
            ...(from + 2 < all.length ? { nextToken: String(from + 2) } : {}),
          };
        });
    }
    const arnOf = (name: string) =>
      `arn:aws:states:eu-west-1:123456789012:execution:stepops-test-deploy:${name}`;
    const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
    function pastRun(name: string, minutesAgo: number, status: string, reason: string) {
      executions.set(arnOf(name), {
        executionArn: arnOf(name),
        status: status as never,
        input: JSON.stringify({ target: 'api-server', ref: 'main', reason, requestedBy: 'github:octocat' }),
        startDate: new Date(Date.now() - minutesAgo * 60_000),
        $metadata: {},
      });
    }

    it('answers the tag push of the commit the branch push is deploying as a replay', async () => {
      // Prepare
      listFromExecutions();
      const branch = await call(startDeploy, webhook(pushBody(), { delivery: 'aaaa0001' }));
      executions.get(branch.body.executionArn)!.status = 'SUCCEEDED';

      // Act
      const tag = await call(
        startDeploy,
        webhook(pushBody({ ref: 'refs/tags/v1.4.2' }), { delivery: 'aaaa0002' }),
      );

      // Assess
      expect(branch.status).toBe(202);
      expect(tag.status).toBe(202);
      expect(tag.body).toMatchObject({ id: branch.body.id, replayed: true });
      expect(tag.body.replayedBecause).toMatch(
        new RegExp(`commit ${COMMIT} was deployed by run ${branch.body.id}`),
      );
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    });

    it('answers the tag push as a replay while the branch run still deploys that commit, not as a 409', async () => {
      // Prepare: the branch push's run is still running
      listFromExecutions();
      const branch = await call(startDeploy, webhook(pushBody(), { delivery: 'aaaa0011' }));

      // Act
      const tag = await call(
        startDeploy,
        webhook(pushBody({ ref: 'refs/tags/v1.4.2' }), { delivery: 'aaaa0012' }),
      );

      // Assess
      expect(executions.get(branch.body.executionArn)?.status).toBe('RUNNING');
      expect(tag.status).toBe(202);
      expect(tag.body).toMatchObject({ id: branch.body.id, replayed: true });
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    });

    it('finds the run on a later page of ListExecutions', async () => {
      // Prepare: two newer runs of other commits come first
      listFromExecutions();
      pastRun('api-server-1111111111111111', 30, 'SUCCEEDED', `push to acme/api-server at ${COMMIT}`);
      pastRun('api-server-2222222222222222', 20, 'SUCCEEDED', `push to acme/api-server at ${'b'.repeat(40)}`);
      pastRun('api-server-3333333333333333', 10, 'FAILED', `push to acme/api-server at ${'c'.repeat(40)}`);

      // Act
      const answer = await call(startDeploy, webhook(pushBody(), { delivery: 'bbbb0001' }));

      // Assess
      expect(answer.body).toMatchObject({ id: 'api-server-1111111111111111', replayed: true });
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    });

    it('deploys the commit again when its run is older than an hour or did not succeed', async () => {
      // Prepare
      listFromExecutions();
      pastRun('api-server-4444444444444444', 61, 'SUCCEEDED', `push to acme/api-server at ${COMMIT}`);
      pastRun('api-server-5555555555555555', 5, 'FAILED', `push to acme/api-server at ${COMMIT}`);

      // Act
      const answer = await call(startDeploy, webhook(pushBody(), { delivery: 'cccc0001' }));

      // Assess
      expect(answer.status).toBe(202);
      expect(answer.body.replayed).toBeUndefined();
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
      const paged = sfn.commandCalls(ListExecutionsCommand).filter((c) => !c.args[0].input.statusFilter);
      expect(paged.length).toBe(1);
    });
  });

  it('answers 404 to a push from a repository no target declares', async () => {
    // Act
    const answer = await call(startDeploy, webhook(pushBody({ repository: 'acme/unknown' })));

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ code: 'UnknownTarget', field: 'repository.full_name' });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    // Act
    const answer = await call(startDeploy, webhook('{"ref": "refs/heads/main",'));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('MalformedJson');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it.each(['$(reboot)', '`id`', 'main;rm -rf /', 'main\nid', '--upload-pack=touch /tmp/x', 'mäin'])(
    'answers 400 to a push of the hostile branch %j and starts nothing',
    async (branch) => {
      // Act
      const answer = await call(
        startDeploy,
        webhook(pushBody({ ref: `refs/heads/${branch}`, defaultBranch: branch })),
      );

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'InvalidRequest', field: 'ref' });
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    },
  );
});

describe('POST /deploys with a bearer token', () => {
  it('starts a deploy and answers 202 { executionArn, consoleUrl }', async () => {
    // Act
    const answer = await call(
      startDeploy,
      tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2.0.1', reason: 'hotfix' })),
    );

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({
      id: expect.stringMatching(/^api-server-[0-9a-f]{16}$/),
      executionArn: expect.stringContaining(':execution:stepops-test-deploy:api-server-'),
      consoleUrl: expect.stringContaining('https://eu-west-1.console.aws.amazon.com/states/home'),
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('starts one execution for one Idempotency-Key, and refuses the key for another ref', async () => {
    // Prepare
    const headers = { 'idempotency-key': 'release-2026-11-22' };

    // Act
    const first = await call(
      startDeploy,
      tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2' }), headers),
    );
    const again = await call(
      startDeploy,
      tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2' }), headers),
    );
    const other = await call(
      startDeploy,
      tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v3' }), headers),
    );

    // Assess
    expect(again.body.executionArn).toBe(first.body.executionArn);
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('IdempotencyKeyReused');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['a Basic credential', { authorization: `Basic ${Buffer.from(`x:${API_TOKEN}`).toString('base64')}` }],
  ])('answers 401 to %s', async (_case, headers) => {
    // Prepare
    const event = tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2' }));
    delete event.headers.authorization;
    Object.assign(event.headers, headers);

    // Act
    const answer = await call(startDeploy, event);

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('Unauthorized');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it.each([
    ['a missing body', undefined, 'MissingBody', undefined],
    ['an empty body', '', 'MissingBody', undefined],
    ['malformed JSON', '{"target": "api-server"', 'MalformedJson', undefined],
    [
      'a body nested 5,000 levels deep',
      `{"target":"api-server","ref":"v2","reason":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      'TooDeep',
      undefined,
    ],
    ['a JSON array', '[]', 'InvalidRequest', undefined],
    ['a missing ref', '{"target":"api-server"}', 'InvalidRequest', 'ref'],
    ['a numeric target', '{"target":42,"ref":"v2"}', 'InvalidRequest', 'target'],
    ['an unknown field', '{"target":"api-server","ref":"v2","script":"id"}', 'InvalidRequest', 'script'],
    [
      'a multi-line reason',
      '{"target":"api-server","ref":"v2","reason":"a\\nb"}',
      'InvalidRequest',
      'reason',
    ],
  ])('answers 400 to %s and starts nothing', async (_case, body, code, field) => {
    // Act
    const answer = await call(startDeploy, tokenRequest(body));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
    expect(answer.body.error.field).toBe(field);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it.each([
    '$(reboot)',
    '`reboot`',
    'v1;reboot',
    'v1\nreboot',
    '--exec=reboot',
    '-v',
    'v1 && reboot',
    "v1'",
    '../../etc/passwd',
    'v1.0…',
    'ref\u202etxt',
  ])('answers 400 naming the field to the hostile ref %j and starts nothing', async (ref) => {
    // Act
    const answer = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'api-server', ref })));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'InvalidRequest', field: 'ref' });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 404 to an unknown target', async () => {
    // Act
    const answer = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'nope', ref: 'v2' })));

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ code: 'UnknownTarget', field: 'target' });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 404 to a target this stage does not deploy', async () => {
    // Act
    const answer = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'zmanim', ref: 'v2' })));

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ code: 'UnknownTarget', field: 'target' });
    expect(answer.body.error.message).toContain('not deployed by this stage');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('refuses a target with local hosts', async () => {
    // Act
    const answer = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'demo', ref: 'v2' })));

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'LocalTarget', field: 'target' });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 409 when the target is locked', async () => {
    // Prepare
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    dynamo
      .on(GetItemCommand, { TableName: 'stepops-test-state', Key: { pk: { S: 'lease#target:api-server' } } })
      .resolves({
        Item: {
          pk: { S: 'lease#target:api-server' },
          owner: { S: 'api-server-0123456789abcdef' },
          expiresAt: { N: String(expiresAt) },
        },
      });

    // Act
    const answer = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2' })));

    // Assess
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('TargetLocked');
    expect(answer.body.error.message).toContain('api-server-0123456789abcdef');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('ignores an expired lease', async () => {
    // Prepare
    dynamo.on(GetItemCommand).resolves({
      Item: { pk: { S: 'lease#target:api-server' }, owner: { S: 'old' }, expiresAt: { N: '1000' } },
    });

    // Act
    const answer = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2' })));

    // Assess
    expect(answer.status).toBe(202);
  });

  it('answers 409 when a deploy of the target is running, not when one of a similarly named target is', async () => {
    // Prepare
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          name: 'api-server-eu-0123456789abcdef',
          executionArn: 'arn:x',
          stateMachineArn: STATE_MACHINE_ARN,
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });
    const eu = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2' })));
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          name: 'api-server-eu-0123456789abcdef',
          executionArn: 'arn:x',
          stateMachineArn: STATE_MACHINE_ARN,
          status: 'RUNNING',
          startDate: new Date(),
        },
      ],
    });

    // Act
    const answer = await call(
      startDeploy,
      tokenRequest(JSON.stringify({ target: 'api-server-eu', ref: 'v2' })),
    );

    // Assess
    expect(eu.status).toBe(202);
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('DeployRunning');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('answers 500 without details when Step Functions fails', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).rejects(new Error('Rate exceeded'));

    // Act
    const answer = await call(startDeploy, tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v2' })));

    // Assess
    expect(answer).toEqual({
      status: 500,
      body: { error: { code: 'InternalError', message: 'internal error; see the function logs' } },
    });
  });

  it('never logs the token, the signature, the secret or the body', async () => {
    // Prepare
    const body = pushBody();
    const signature = sign(body);

    // Act
    await call(startDeploy, webhook(body, { signature }));
    await call(startDeploy, webhook(body, { signature: sign(body, 'wrong') }));
    await call(
      startDeploy,
      tokenRequest(JSON.stringify({ target: 'api-server', ref: 'v9', reason: 'secret-reason-xyz' })),
    );
    await call(startDeploy, tokenRequest('{"not json'));

    // Assess
    expect(output).toContain('deploy started');
    for (const secret of [
      API_TOKEN,
      WEBHOOK_SECRET,
      signature.slice(7),
      'octocat@github.com',
      'secret-reason-xyz',
      '{"not json',
    ]) {
      expect(output).not.toContain(secret);
    }
  });
});

describe('GET /deploys/{id}', () => {
  function getRequest(id: string, token = API_TOKEN) {
    return httpApiEvent({
      method: 'GET',
      path: `/deploys/${id}`,
      routeKey: 'GET /deploys/{id}',
      headers: { authorization: `Bearer ${token}` },
      pathParameters: { id },
    });
  }
  const arnOf = (name: string) =>
    `arn:aws:states:eu-west-1:123456789012:execution:stepops-test-deploy:${name}`;

  it('answers the current state of a running deploy', async () => {
    // Prepare
    const id = 'api-server-0123456789abcdef';
    executions.set(arnOf(id), {
      executionArn: arnOf(id),
      status: 'RUNNING',
      input: JSON.stringify({ target: 'api-server', ref: 'v2' }),
      startDate: new Date('2026-11-22T03:00:00Z'),
      $metadata: {},
    });
    sfn.on(GetExecutionHistoryCommand, { executionArn: arnOf(id), reverseOrder: true }).resolves({
      events: [
        { id: 7, type: 'TaskScheduled', timestamp: new Date() },
        {
          id: 6,
          type: 'TaskStateEntered',
          timestamp: new Date(),
          stateEnteredEventDetails: { name: 'RunBatch' },
        },
        { id: 5, type: 'TaskStateExited', timestamp: new Date(), stateExitedEventDetails: { name: 'Plan' } },
      ],
    });

    // Act
    const answer = await call(getDeploy, getRequest(id));

    // Assess
    expect(answer).toEqual({
      status: 200,
      body: {
        id,
        executionArn: arnOf(id),
        consoleUrl: expect.stringContaining(arnOf(id)),
        status: 'running',
        target: 'api-server',
        ref: 'v2',
        currentState: 'RunBatch',
        startedAt: '2026-11-22T03:00:00.000Z',
      },
    });
  });

  it('names the state that failed inside the Map, not the Fail state the run ended in', async () => {
    // Prepare: a gate failure in batch 2 of 2, rolled back; history read newest first, one page of 100
    const id = 'api-server-fedcba9876543210';
    const run = gateFailedDeploy(new Date('2026-11-22T03:00:00Z'));
    executions.set(arnOf(id), {
      executionArn: arnOf(id),
      status: 'FAILED',
      input: JSON.stringify({ target: 'api-server', ref: 'v3' }),
      startDate: new Date('2026-11-22T03:00:00Z'),
      stopDate: new Date('2026-11-22T03:05:00Z'),
      error: run.error,
      cause: run.cause,
      $metadata: {},
    });
    sfn
      .on(GetExecutionHistoryCommand, { executionArn: arnOf(id), reverseOrder: true })
      .resolves(historyPages(run.events, 100, true)[0]!);

    // Act
    const answer = await call(getDeploy, getRequest(id));

    // Assess
    expect(answer.body).toMatchObject({
      status: 'failed',
      currentState: 'Failed',
      failedState: 'CheckHealth',
      error: 'DeployFailedError',
      cause: run.cause,
      startedAt: '2026-11-22T03:00:00.000Z',
      stoppedAt: '2026-11-22T03:05:00.000Z',
    });
  });

  it('reads the failed state from the cause when the history page holds no notify step', async () => {
    // Prepare: a command failure; only the last few events fit the page the API reads
    const id = 'api-server-0f0f0f0f0f0f0f0f';
    const cause = [
      'deploy of "v4" to api-server failed its command on batch 1/1 and was rolled back to health on 1 host',
      'failed state: WaitForDeploy (batch 1 of 1)',
      'error: CommandFailedError: deploy command c-1 failed on 1 of 1 host(s), 0 allowed: i-1 Failed with exit code 2',
    ].join('\n');
    executions.set(arnOf(id), {
      executionArn: arnOf(id),
      status: 'FAILED',
      input: JSON.stringify({ target: 'api-server', ref: 'v4' }),
      startDate: new Date('2026-11-22T03:00:00Z'),
      error: 'DeployFailedError',
      cause,
      $metadata: {},
    });
    const events = new HistoryBuilder(new Date('2026-11-22T03:00:00Z'))
      .started({ target: 'api-server', ref: 'v4' })
      .flow('Choice', 'RunSucceeded')
      .failState('Failed')
      .failed('DeployFailedError', cause);
    sfn
      .on(GetExecutionHistoryCommand, { executionArn: arnOf(id), reverseOrder: true })
      .resolves(historyPages(events, 100, true)[0]!);

    // Act
    const answer = await call(getDeploy, getRequest(id));

    // Assess
    expect(answer.body).toMatchObject({ status: 'failed', failedState: 'WaitForDeploy' });
  });

  it('names the task that timed out when the execution itself timed out', async () => {
    // Prepare
    const id = 'api-server-1212121212121212';
    executions.set(arnOf(id), {
      executionArn: arnOf(id),
      status: 'TIMED_OUT',
      input: JSON.stringify({ target: 'api-server', ref: 'v5' }),
      startDate: new Date('2026-11-22T03:00:00Z'),
      $metadata: {},
    });
    const events = new HistoryBuilder(new Date('2026-11-22T03:00:00Z'))
      .started({ target: 'api-server', ref: 'v5' })
      .task('PlanDeploy', 'plan-deploy')
      .task('ClaimHosts', 'claim-hosts', { timedOut: true })
      .timedOut();
    sfn
      .on(GetExecutionHistoryCommand, { executionArn: arnOf(id), reverseOrder: true })
      .resolves(historyPages(events, 100, true)[0]!);

    // Act
    const answer = await call(getDeploy, getRequest(id));

    // Assess
    expect(answer.body).toMatchObject({
      status: 'timed-out',
      failedState: 'ClaimHosts',
      error: 'States.Timeout',
    });
  });

  it('answers 404 to an unknown execution, 400 to an invalid id and 401 without the token', async () => {
    // Act
    const unknown = await call(getDeploy, getRequest('api-server-0000000000000000'));
    const invalid = await call(getDeploy, getRequest('a:b'));
    const anonymous = await call(getDeploy, getRequest('api-server-0000000000000000', 'wrong'));

    // Assess
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'UnknownExecution', field: 'id' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.field).toBe('id');
    expect(anonymous.status).toBe(401);
  });
});
