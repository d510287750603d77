/**
 * The recovery functions around the run's actions: request-approval (stores the task token, signs
 * the links with the stage's secret, publishes the request), notify-recovery (publishes the
 * outcome) and terminate-replaced (terminates the instances a replacement retired), each through
 * its real handler in the stage's configuration (the environment stacks/recover.ts gives them),
 * AWS mocked at the command level; every call recorded and checked against the function's policy.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // What stacks/recover.ts gives every recovery function in a stage named `test`.
  process.env.STEPOPS_STATE_TABLE = 'stepops-test-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
  process.env.STEPOPS_API_URL = 'https://api.stepops.example';
  process.env.STEPOPS_APPROVAL_SECRET_PARAMETER = '/stepops/test/approval-signing-key';
  return before;
});

import { clearRegisteredTargets, findTarget } from '../../shared/config/registry.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../shared/recovery/run.ts';
import { REPLACED_BY_TAG } from '../../shared/recovery/steps.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT, REGION } from '../infra/harness.ts';
import { expectRecordedCallsAllowed } from './record-calls.ts';

const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const EXECUTION = `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-recover:run-1`;

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

beforeAll(() => {
  registerFilledTargets();
  dynamo.on(PutItemCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  ssm
    .on(GetParameterCommand, { Name: '/stepops/test/approval-signing-key', WithDecryption: true })
    .resolves({ Parameter: { Value: 'a'.repeat(64) } });
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [
          {
            InstanceId: 'i-0aaaaaaaaaaaaaaa1',
            State: { Name: 'stopped' },
            Tags: [
              { Key: REPLACED_BY_TAG, Value: 'run-1' },
              { Key: 'Name', Value: 'zmanim-api' },
            ],
          },
        ],
      },
    ],
  });
  ec2
    .on(TerminateInstancesCommand)
    .resolves({ TerminatingInstances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }] });
});
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  dynamo.restore();
  sns.restore();
  ssm.restore();
  ec2.restore();
});

describe('the recovery functions that ask, tell and clean up', () => {
  it('request-approval stores the token, signs the links with the stage’s secret and publishes the request', async () => {
    // Prepare
    const plan = planRecoveryStep(
      {
        input: { target: 'zmanim', runbook: 'restart-api', reason: 'API down', requestedBy: 'ops' },
        runId: 'run-1',
      },
      recoveryDepsWith({}),
    );

    // Act
    const result = await invoke<{ requested: boolean }>('request-approval', {
      taskToken: 'token-1',
      plan,
      executionId: EXECUTION,
      context: { instanceIds: [], steps: {}, checks: ['api-health is failing'] },
    });

    // Assess
    expect(result.requested).toBe(true);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, { TableName: 'stepops-test-state' });
    const message = String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message);
    expect(message).toContain('https://api.stepops.example/approvals/run-1/approve?expires=');
  });

  it('notify-recovery publishes how the run ended', async () => {
    // Act
    const result = await invoke<{ outcome: string }>('notify-recovery', {
      run: { plan: { target: 'zmanim' }, target: 'zmanim' },
      runId: 'run-1',
      executionId: EXECUTION,
    });

    // Assess
    expect(result.outcome).toBeDefined();
    expect(sns.commandCalls(PublishCommand).length).toBeGreaterThanOrEqual(2);
  });

  it('terminate-replaced terminates the instance the run retired', async () => {
    // Act
    const result = await invoke<{ terminated: string[] }>('terminate-replaced', {
      target: 'zmanim',
      runId: 'run-1',
    });

    // Assess
    expect(result.terminated).toEqual(['i-0aaaaaaaaaaaaaaa1']);
    expect(ec2).toHaveReceivedCommandWith(TerminateInstancesCommand, {
      InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
    });
    expect(findTarget('zmanim').hosts.type).toBe('ec2');
  });

  it("sends only calls each function's IAM policy allows, as the stacks render it", async () => {
    await expectRecordedCallsAllowed();
  }, 600_000);
});
