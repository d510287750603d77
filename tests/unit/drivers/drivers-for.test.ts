import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alertsTopicArn, awsResourceNames, driversFor, hostSelector } from '../../../shared/all-drivers.ts';
import { type Target, type TargetInput, targetSchema } from '../../../shared/config/schema.ts';
import { DynamoLeaseStore } from '../../../shared/drivers/aws/dynamo-lease-store.ts';
import { Ec2HostDirectory } from '../../../shared/drivers/aws/ec2-host-directory.ts';
import { AwsSnapshotService } from '../../../shared/drivers/aws/snapshot-service.ts';
import { SnsNotifier } from '../../../shared/drivers/aws/sns-notifier.ts';
import { SsmCommandRunner } from '../../../shared/drivers/aws/ssm-command-runner.ts';
import { FanOutNotifier } from '../../../shared/drivers/fan-out-notifier.ts';
import { BashCommandRunner } from '../../../shared/drivers/local/bash-command-runner.ts';
import { FileLeaseStore } from '../../../shared/drivers/local/file-lease-store.ts';
import { LocalHostDirectory } from '../../../shared/drivers/local/local-host-directory.ts';
import { LocalSnapshotService } from '../../../shared/drivers/local/local-snapshot-service.ts';
import { OutboxNotifier } from '../../../shared/drivers/local/outbox-notifier.ts';

const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);

function target(fields: Partial<TargetInput>): Target {
  return targetSchema.parse({ name: 'app', description: 'an app', ...fields } as TargetInput);
}

const ec2Hosts = {
  type: 'ec2',
  region: 'eu-west-1',
  tags: { App: 'app' },
  user: 'ubuntu',
  workingDirectory: '/opt/app',
} as const;

const topic = 'arn:aws:sns:eu-west-1:123456789012:stepops-alerts';
const saved = { ...process.env };
let home: string;

beforeEach(async () => {
  ssm.reset();
  sns.reset();
  delete process.env.STEPOPS_STATE_TABLE;
  delete process.env.STEPOPS_ALERTS_TOPIC_ARN;
  delete process.env.STEPOPS_COMMAND_LOG_GROUP;
  home = await mkdtemp(path.join(tmpdir(), 'stepops-home-'));
  process.env.STEPOPS_HOME = home;
});

afterEach(async () => {
  process.env = { ...saved };
  await rm(home, { recursive: true, force: true });
});

describe('driversFor', () => {
  it('gives a local target bash, the local directory, file leases and the outbox', () => {
    const drivers = driversFor(target({ hosts: { type: 'local', directory: 'lab/app' } }));
    expect(drivers.commands).toBeInstanceOf(BashCommandRunner);
    expect(drivers.hosts).toBeInstanceOf(LocalHostDirectory);
    expect(drivers.leases).toBeInstanceOf(FileLeaseStore);
    expect(drivers.notifier).toBeInstanceOf(OutboxNotifier);
    expect(drivers.snapshots).toBeInstanceOf(LocalSnapshotService);
  });

  it('gives an ec2 target SSM, EC2 and AWS snapshots, and still files without a table or topic', () => {
    const drivers = driversFor(target({ hosts: ec2Hosts }));
    expect(drivers.commands).toBeInstanceOf(SsmCommandRunner);
    expect(drivers.hosts).toBeInstanceOf(Ec2HostDirectory);
    expect(drivers.snapshots).toBeInstanceOf(AwsSnapshotService);
    expect(drivers.leases).toBeInstanceOf(FileLeaseStore);
    expect(drivers.notifier).toBeInstanceOf(OutboxNotifier);
  });

  it('uses DynamoDB and SNS when the environment names the table and the topic', async () => {
    // Prepare
    process.env.STEPOPS_STATE_TABLE = 'stepops-state';
    process.env.STEPOPS_ALERTS_TOPIC_ARN = topic;
    sns.on(PublishCommand).resolves({});

    // Act
    const drivers = driversFor(target({ hosts: ec2Hosts }));
    await drivers.notifier.publish({
      target: 'app',
      workflow: 'deploy',
      outcome: 'failed',
      runId: 'r',
      summary: 's',
      at: 'now',
    });

    // Assess
    expect(drivers.leases).toBeInstanceOf(DynamoLeaseStore);
    expect(drivers.notifier).toBeInstanceOf(SnsNotifier);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: topic });
  });

  it('adds Slack beside the outbox when there is no topic, and leaves Slack to the forwarder when there is', () => {
    const slackTarget = target({
      hosts: { type: 'local', directory: 'lab/app' },
      alerts: { slackWebhookParameter: '/stepops/slack' },
    });
    expect(driversFor(slackTarget)).toMatchObject({ notifier: expect.any(FanOutNotifier) });
    expect(driversFor(slackTarget, { alertsTopicArn: topic }).notifier).toBeInstanceOf(SnsNotifier);
    expect(driversFor(slackTarget, { alertsTopicArn: topic, slack: true }).notifier).toBeInstanceOf(
      FanOutNotifier,
    );
    expect(driversFor(slackTarget, { slack: false }).notifier).toBeInstanceOf(OutboxNotifier);
  });

  it('sends commands with the configured log group and runs command probes in the working directory as the user', async () => {
    // Prepare
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: 'STEPOPS_PROBE up 0 3 YWN0aXZlCg==\n',
    });
    const drivers = driversFor(target({ hosts: ec2Hosts }), { commandLogGroup: '/stepops/commands' });

    // Act
    const results = await drivers.probes.run(
      { name: 'up', type: 'command', script: 'systemctl is-active app', expectExitCode: 0, timeout: 30 },
      [{ kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' }],
    );

    // Assess
    expect(results).toEqual([expect.objectContaining({ ok: true, host: 'i-0aaaaaaaaaaaaaaa1' })]);
    const input = ssm.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input?.CloudWatchOutputConfig).toEqual({
      CloudWatchLogGroupName: '/stepops/commands',
      CloudWatchOutputEnabled: true,
    });
    expect(input?.Parameters?.workingDirectory).toEqual(['/opt/app']);
    const script = input?.Parameters?.commands?.[0] ?? '';
    expect(script).toContain("cd '/opt/app'");
    expect(script).toContain("sudo -u 'ubuntu'");
    expect(script).toContain('\nsystemctl is-active app\n');
  });

  it('writes local notifications to the outbox under STEPOPS_HOME', async () => {
    const drivers = driversFor(target({ hosts: { type: 'local', directory: 'lab/app' } }), { stream: null });
    await drivers.notifier.publish({
      target: 'app',
      workflow: 'deploy',
      outcome: 'succeeded',
      runId: 'r',
      summary: 's',
      at: 'now',
    });
    expect(JSON.parse(await readFile(path.join(home, 'outbox.jsonl'), 'utf8'))).toMatchObject({ runId: 'r' });
  });
});

describe('awsResourceNames, alertsTopicArn and hostSelector', () => {
  it('reads the resource names from the environment', () => {
    expect(
      awsResourceNames({
        STEPOPS_STATE_TABLE: 't',
        STEPOPS_ALERTS_TOPIC_ARN: topic,
        STEPOPS_COMMAND_LOG_GROUP: '/g',
      }),
    ).toEqual({ stateTable: 't', alertsTopicArn: topic, commandLogGroup: '/g' });
    expect(awsResourceNames({})).toEqual({});
  });

  it("uses the target's topic, by ARN or by name in the stack topic's account", () => {
    const byName = target({ hosts: ec2Hosts, alerts: { topic: 'team-alerts' } });
    expect(alertsTopicArn(byName, topic)).toBe('arn:aws:sns:eu-west-1:123456789012:team-alerts');
    expect(alertsTopicArn(byName, undefined)).toBeUndefined();
    const byArn = target({ hosts: ec2Hosts, alerts: { topic: 'arn:aws:sns:us-east-1:123456789012:x' } });
    expect(alertsTopicArn(byArn, topic)).toBe('arn:aws:sns:us-east-1:123456789012:x');
    expect(alertsTopicArn(target({ hosts: ec2Hosts }), topic)).toBe(topic);
  });

  it('turns the declared hosts into a selector', () => {
    expect(hostSelector(target({ hosts: ec2Hosts }))).toEqual({
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'app' },
    });
    expect(
      hostSelector(
        target({
          hosts: {
            type: 'ec2',
            region: 'us-east-1',
            instanceIds: ['i-0123456789abcdef0'],
            workingDirectory: '/opt',
          },
        }),
      ),
    ).toEqual({ type: 'ec2', region: 'us-east-1', instanceIds: ['i-0123456789abcdef0'] });
    expect(hostSelector(target({ hosts: { type: 'local', directory: 'lab/app' } }))).toEqual({
      type: 'local',
      directory: 'lab/app',
    });
  });
});
