/**
 * `stepops deploy` of an `ec2` target takes the stage's DynamoDB lease and publishes to the
 * stage's SNS topic, never a lease file or the outbox, so a run from a laptop cannot race a deploy
 * started on AWS. AWS is mocked at the command level; the credential chain is injected, or real
 * (in a child process with no credentials anywhere).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDeploy } from '../../../cli/commands/deploy.ts';
import type { Output } from '../../../cli/output.ts';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import type { TargetInput } from '../../../shared/config/schema.ts';

const dynamo = mockClient(DynamoDBClient);
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);

const TABLE_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/stepops-prod-state';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-prod-alerts';
const credentials = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });

const web: TargetInput = {
  name: 'web',
  description: 'a web app on EC2',
  hosts: {
    type: 'ec2',
    region: 'us-east-1',
    instanceIds: ['i-0abc12345def67890'],
    user: 'ubuntu',
    workingDirectory: '/opt/web',
  },
  deploy: {
    steps: [{ name: 'build', script: 'make', timeout: 60 }],
    rollback: [{ name: 'back', script: 'make rollback', timeout: 60 }],
    healthGate: { probes: ['up'], timeout: 30, interval: 5, successes: 1 },
  },
  health: { schedule: 'rate(5 minutes)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
};

function capture(): Output & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

let home: string;
const saved = { ...process.env };

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-run-stage-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});
beforeEach(() => {
  for (const client of [dynamo, ec2, ssm, sns]) client.reset();
  process.env.STEPOPS_HOME = home;
  delete process.env.STEPOPS_STATE_TABLE;
  delete process.env.STEPOPS_ALERTS_TOPIC_ARN;
  delete process.env.STEPOPS_STAGE;
  registerTarget(web);
});
afterEach(() => {
  clearRegisteredTargets();
  process.env = { ...saved };
});

describe('a local deploy of an ec2 target', () => {
  it("takes the stage's DynamoDB lease and sends the alert to the stage's SNS topic", async () => {
    // Prepare
    dynamo
      .on(DescribeTableCommand)
      .resolves({ Table: { TableName: 'stepops-prod-state', TableArn: TABLE_ARN } });
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(DeleteItemCommand).resolves({});
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const output = capture();

    // Act
    const report = await runDeploy({
      target: 'web',
      ref: 'v1',
      stage: 'prod',
      output,
      stageOptions: { env: {}, credentials },
    });

    // Assess
    expect(report.exitCode, output.text()).toBe(1);
    expect(output.text()).toContain(
      `lease in DynamoDB stepops-prod-state, alerts to ${TOPIC_ARN} (stage prod)`,
    );
    expect(dynamo).toHaveReceivedCommandWith(DescribeTableCommand, { TableName: 'stepops-prod-state' });
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'stepops-prod-state',
      Item: expect.objectContaining({ pk: { S: 'lease#target:web' } }),
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :owner',
    });
    expect(dynamo).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 'stepops-prod-state',
      Key: { pk: { S: 'lease#target:web' } },
    });
    // In the stage's region (eu-west-1), not the hosts' (us-east-1).
    const leaseClient = dynamo.commandCalls(PutItemCommand)[0]?.thisValue as DynamoDBClient;
    expect(await leaseClient.config.region()).toBe('eu-west-1');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC_ARN,
      MessageAttributes: expect.objectContaining({ target: { DataType: 'String', StringValue: 'web' } }),
    });
    expect(existsSync(path.join(home, 'leases'))).toBe(false);
    expect(existsSync(path.join(home, 'outbox.jsonl'))).toBe(false);
    expect(process.env.STEPOPS_STATE_TABLE).toBeUndefined();
  });

  it('takes the stage from STEPOPS_STAGE and the region from STEPOPS_REGION', async () => {
    // Prepare
    dynamo.on(DescribeTableCommand).resolves({
      Table: { TableArn: 'arn:aws:dynamodb:us-west-2:210987654321:table/stepops-staging-state' },
    });
    dynamo.on(PutItemCommand).resolves({});
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const output = capture();

    // Act
    await runDeploy({
      target: 'web',
      ref: 'v1',
      output,
      stageOptions: { env: { STEPOPS_STAGE: 'staging', STEPOPS_REGION: 'us-west-2' }, credentials },
    });

    // Assess
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, { TableName: 'stepops-staging-state' });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: 'arn:aws:sns:us-west-2:210987654321:stepops-staging-alerts',
    });
  });

  it('exits 2 naming AWS_PROFILE and AWS_REGION when there are no credentials, and starts nothing', async () => {
    // Prepare
    const output = capture();
    const none = async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      });
    };

    // Act
    const report = await runDeploy({
      target: 'web',
      ref: 'v1',
      stage: 'prod',
      output,
      stageOptions: { env: {}, credentials: none },
    });

    // Assess
    expect(report).toEqual({ exitCode: 2, error: 'MissingCredentialsError' });
    expect(output.text()).toContain(
      'stepops: no AWS credentials found (Could not load credentials from any providers): set AWS_PROFILE',
    );
    expect(output.text()).toContain('and AWS_REGION');
    expect(output.text()).not.toContain('timeline');
    expect(dynamo.calls()).toHaveLength(0);
    expect(sns.calls()).toHaveLength(0);
    expect(ec2.calls()).toHaveLength(0);
  });

  it('exits 2 when no stage is named, saying how to name one', async () => {
    // Prepare
    const output = capture();

    // Act
    const report = await runDeploy({
      target: 'web',
      ref: 'v1',
      output,
      stageOptions: { env: {}, credentials },
    });

    // Assess
    expect(report.exitCode).toBe(2);
    expect(output.text()).toContain('name the stage with --stage <stage> (or STEPOPS_STAGE)');
    expect(dynamo.calls()).toHaveLength(0);
    expect(existsSync(path.join(home, 'leases'))).toBe(false);
  });

  it("exits 2 when the stage's table does not exist in its region", async () => {
    // Prepare
    dynamo
      .on(DescribeTableCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));
    const output = capture();

    // Act
    const report = await runDeploy({
      target: 'web',
      ref: 'v1',
      stage: 'qa',
      output,
      stageOptions: { env: {}, credentials },
    });

    // Assess
    expect(report.exitCode).toBe(2);
    expect(output.text()).toContain(
      'stepops: stage "qa" has no state table stepops-qa-state in eu-west-1: deploy the stage (npx sst deploy --stage qa) or set STEPOPS_REGION to its region',
    );
    expect(dynamo).not.toHaveReceivedCommand(PutItemCommand);
  });
});

describe('stepops deploy --local with the real credential chain and no credentials', () => {
  it('exits 2 before anything starts', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(home, 'nocreds-'));
    const file = path.join(dir, 'web.ts');
    await writeFile(file, `export default ${JSON.stringify(web)};\n`);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      STEPOPS_HOME: path.join(dir, 'home'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
      // A local run of an ec2 target takes the lease of the stage STEPOPS_STAGE names.
      STEPOPS_STAGE: 'prod',
      CI: '1',
    };

    // Act
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(
        path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node'),
        [path.join(PROJECT_ROOT, 'cli', 'stepops.ts'), 'deploy', file, '--ref', 'v1', '--local'],
        { cwd: PROJECT_ROOT, env },
      );
      let output = '';
      child.stdout.on('data', (c) => {
        output += c;
      });
      child.stderr.on('data', (c) => {
        output += c;
      });
      child.once('close', (code) => resolve({ code, output }));
    });

    // Assess
    expect(result.code, result.output).toBe(2);
    expect(result.output).toContain('stepops: no AWS credentials found');
    expect(result.output).toMatch(/set AWS_PROFILE .* and AWS_REGION/);
    expect(result.output).not.toContain('PlanDeploy');
    expect(existsSync(path.join(dir, 'home'))).toBe(false);
  }, 60_000);
});
