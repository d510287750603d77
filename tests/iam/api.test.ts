/**
 * The API's functions and the alert forwarder, their AWS calls checked against their IAM policies
 * as the stacks render them: `POST /deploys` and `GET /deploys/{id}` through their real handlers
 * (SSM, DynamoDB and Step Functions mocked at the command level); answer-approval's and the
 * forwarder's calls as their drivers send them (`SendTaskSuccess`/`SendTaskFailure` of the task
 * answerer, the approval item, the secrets), evaluated the same way.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  return before;
});

import { sha256Hex } from '../../shared/api/auth.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { httpApiEvent } from '../unit/api/events.ts';
import { API_TOKEN, ec2Target } from '../unit/api/fixtures.ts';
import { checkCalls, formatDenials } from './check.ts';
import { expectRecordedCallsAllowed, stagePolicies } from './record-calls.ts';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const STATE_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:stepops-test-deploy`;
const TOKEN_HASH_PARAM = '/stepops/test/api-token-sha256';
const ssm = mockClient(SSMClient);
const sfn = mockClient(SFNClient);
const dynamo = mockClient(DynamoDBClient);
let startDeploy: Handler;
let getDeploy: Handler;

function invoke(functionName: string, handler: Handler, event: APIGatewayProxyEventV2) {
  return withinInvocation({ functionName }, () =>
    handler(
      event,
      createLambdaContext({
        arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
        timeoutSeconds: 15,
      }),
    ),
  );
}

beforeAll(async () => {
  // What SST links to the API functions in a stage named `test` (stacks/api.ts).
  process.env.SST_RESOURCE_App = JSON.stringify({ name: 'stepops', stage: 'test' });
  process.env.SST_RESOURCE_DeployStateMachine = JSON.stringify({
    arn: STATE_MACHINE,
    name: 'stepops-test-deploy',
  });
  process.env.SST_RESOURCE_StateTable = JSON.stringify({ name: 'stepops-test-state' });
  process.env.SST_RESOURCE_ApiConfig = JSON.stringify({
    githubWebhookSecret: '/stepops/test/github-webhook-secret',
    apiTokenHash: TOKEN_HASH_PARAM,
    targets: ['api-server'],
  });
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  registerTarget(ec2Target('api-server', 'acme/api-server'));
  ssm
    .on(GetParameterCommand, { Name: TOKEN_HASH_PARAM })
    .resolves({ Parameter: { Value: sha256Hex(API_TOKEN) } });
  dynamo.on(GetItemCommand).resolves({});
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  const started = new Set<string>();
  sfn.on(StartExecutionCommand).callsFake(({ name }: { name: string }) => {
    const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-deploy:${name}`;
    started.add(executionArn);
    return { executionArn, startDate: new Date() };
  });
  sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => {
    if (!started.has(executionArn)) {
      throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    }
    return describedAs(executionArn);
  });
  const describedAs = (executionArn: string) => ({
    executionArn,
    stateMachineArn: STATE_MACHINE,
    status: 'RUNNING',
    input: JSON.stringify({ target: 'api-server', ref: 'v2' }),
    startDate: new Date(),
  });
  sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
  startDeploy = (await import('../../functions/start-deploy/handler.ts')).handler as unknown as Handler;
  getDeploy = (await import('../../functions/get-deploy/handler.ts')).handler as unknown as Handler;
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  ssm.restore();
  sfn.restore();
  dynamo.restore();
});

describe('the API functions', () => {
  it('starts a deploy and reads it back through POST and GET /deploys', async () => {
    // Act
    const started = await invoke(
      'start-deploy',
      startDeploy,
      httpApiEvent({
        method: 'POST',
        path: '/deploys',
        routeKey: 'POST /deploys',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'api-server', ref: 'v2' }),
      }),
    );
    const id = (JSON.parse(String(started.body)) as { id?: string }).id ?? '';
    const status = await invoke(
      'get-deploy',
      getDeploy,
      httpApiEvent({
        method: 'GET',
        path: `/deploys/${id}`,
        routeKey: 'GET /deploys/{id}',
        headers: { authorization: `Bearer ${API_TOKEN}` },
        pathParameters: { id },
      }),
    );

    // Assess
    expect(started.statusCode, String(started.body)).toBe(202);
    expect(status.statusCode, String(status.body)).toBe(200);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE });
  });

  it("sends only calls each function's IAM policy allows, as the stacks render it", async () => {
    await expectRecordedCallsAllowed();
  }, 600_000);

  it('lets answer-approval answer the recovery run and read and update its approval, and the forwarder read its webhook', async () => {
    // Prepare: the calls the task answerer, the approval store and the secrets cache send
    const { findTarget } = await import('../../shared/config/registry.ts');
    const policies = await stagePolicies([findTarget('api-server') as never]);
    const table = 'stepops-test-state';
    const calls = [
      { command: 'SendTaskSuccess', client: 'SFNClient', input: { taskToken: 't', output: '{}' } },
      { command: 'SendTaskFailure', client: 'SFNClient', input: { taskToken: 't', error: 'Rejected' } },
      { command: 'GetItem', client: 'DynamoDBClient', input: { TableName: table } },
      { command: 'UpdateItem', client: 'DynamoDBClient', input: { TableName: table } },
      {
        command: 'GetParameter',
        client: 'SSMClient',
        input: { Name: '/stepops/test/approval-signing-key', WithDecryption: true },
      },
    ].map((c) => ({ ...c, functionName: 'answer-approval', region: REGION }));
    const forward = {
      functionName: 'forward-alert',
      client: 'SSMClient',
      command: 'GetParameter',
      input: { Name: '/stepops/test/slack-webhook-url', WithDecryption: true },
      region: REGION,
    };

    // Act
    const result = await checkCalls([...calls, forward], policies);

    // Assess
    expect(formatDenials(result.denials)).toBe('');
    expect(result.evaluations).toBeGreaterThan(0);
  }, 600_000);
});
