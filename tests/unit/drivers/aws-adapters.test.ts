import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateSnapshotsCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDBSnapshotCommand, RDSClient } from '@aws-sdk/client-rds';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoLeaseStore } from '../../../shared/drivers/aws/dynamo-lease-store.ts';
import { Ec2HostDirectory } from '../../../shared/drivers/aws/ec2-host-directory.ts';
import {
  AwsSnapshotService,
  dbSnapshotIdentifier,
  snapshotTags,
} from '../../../shared/drivers/aws/snapshot-service.ts';
import { SnsNotifier, snsSubject } from '../../../shared/drivers/aws/sns-notifier.ts';
import {
  commandToken,
  invocationState,
  SsmCommandRunner,
} from '../../../shared/drivers/aws/ssm-command-runner.ts';
import type { HostRef, Notification } from '../../../shared/drivers/ports.ts';
import { OUTPUT_TAIL_LIMIT } from '../../../shared/drivers/ports.ts';
import { SnapshotFailedError } from '../../../shared/errors.ts';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const rds = mockClient(RDSClient);
const sns = mockClient(SNSClient);
const dynamo = mockClient(DynamoDBClient);

beforeEach(() => {
  ssm.reset();
  ec2.reset();
  rds.reset();
  sns.reset();
  dynamo.reset();
});

const hosts: HostRef[] = [
  { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' },
  { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa2', region: 'eu-west-1' },
];

/** SSM lists command `commandId` as finished on both hosts. */
function finished(commandId: string) {
  ssm.on(ListCommandsCommand, { CommandId: commandId }).resolves({
    Commands: [{ CommandId: commandId, Status: 'Failed', TargetCount: 2, CompletedCount: 2 }],
  });
}

describe('SsmCommandRunner', () => {
  it('sends the script with AWS-RunShellScript, the hosts, rate control, timeouts and CloudWatch output', async () => {
    // Prepare
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const runner = new SsmCommandRunner({ logGroupName: '/stepops/commands', deliveryTimeoutSeconds: 300 });

    // Act
    const handle = await runner.send({
      hosts,
      script: '#!/usr/bin/env bash\nset -euo pipefail\necho hi\n',
      timeoutSeconds: 930,
      workingDirectory: '/opt/app',
      comment: `deploy datizmo v2 ${'x'.repeat(200)}`,
      maxConcurrency: '1',
      maxErrors: '0',
    });

    // Assess
    expect(handle).toEqual({ commandId: 'cmd-1', hosts });
    const expected = {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'],
      Parameters: {
        commands: ['#!/usr/bin/env bash\nset -euo pipefail\necho hi\n'],
        executionTimeout: ['930'],
        workingDirectory: ['/opt/app'],
      },
      TimeoutSeconds: 300,
      Comment: `deploy datizmo v2 ${'x'.repeat(200)}`.slice(0, 100),
      MaxConcurrency: '1',
      MaxErrors: '0',
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '/stepops/commands', CloudWatchOutputEnabled: true },
    };
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, expected);
    expect(ssm.commandCalls(SendCommandCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('leaves out CloudWatch output, rate control and the working directory when not given', async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-2' } });
    await new SsmCommandRunner().send({
      hosts: [hosts[0]!],
      script: 'true',
      timeoutSeconds: 60,
      comment: 'c',
    });
    expect(ssm.commandCalls(SendCommandCommand)[0]?.args[0].input).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
      Parameters: { commands: ['true'], executionTimeout: ['60'] },
      TimeoutSeconds: 600,
      Comment: 'c',
    });
  });

  it('keeps the execution and delivery timeouts within what SSM accepts', async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-3' } });
    await new SsmCommandRunner({ deliveryTimeoutSeconds: 5 }).send({
      hosts: [hosts[0]!],
      script: 'true',
      timeoutSeconds: 999_999,
      comment: 'c',
    });
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      Parameters: { commands: ['true'], executionTimeout: ['172800'] },
      TimeoutSeconds: 30,
    });
  });

  it('refuses local hosts and hosts in two regions', async () => {
    const runner = new SsmCommandRunner();
    await expect(
      runner.send({
        hosts: [{ kind: 'local', id: 'local:x', directory: '/tmp' }],
        script: 'true',
        timeoutSeconds: 1,
        comment: 'c',
      }),
    ).rejects.toThrow(/ec2 hosts only/);
    await expect(
      runner.send({
        hosts: [hosts[0]!, { kind: 'ec2', id: 'i-0bbbbbbbbbbbbbbb1', region: 'us-east-1' }],
        script: 'true',
        timeoutSeconds: 1,
        comment: 'c',
      }),
    ).rejects.toThrow(/cannot span regions/);
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('reports a host whose invocation does not exist yet as pending', async () => {
    // Prepare
    ssm
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-1', InstanceId: 'i-0aaaaaaaaaaaaaaa1' })
      .rejects(new InvocationDoesNotExist({ message: 'InvocationDoesNotExist', $metadata: {} }))
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-1', InstanceId: 'i-0aaaaaaaaaaaaaaa2' })
      .resolves({ Status: 'InProgress', ResponseCode: -1, StandardOutputContent: '==> step 1/2: pull\n' });
    const runner = new SsmCommandRunner();

    // Act
    const first = await runner.status({ commandId: 'cmd-1', hosts: [hosts[0]!] });
    const second = await runner.status({ commandId: 'cmd-1', hosts: [hosts[1]!] });

    // Assess
    expect([...first, ...second]).toEqual([
      { hostId: 'i-0aaaaaaaaaaaaaaa1', state: 'pending', outputTail: '' },
      { hostId: 'i-0aaaaaaaaaaaaaaa2', state: 'running', outputTail: '==> step 1/2: pull\n' },
    ]);
    expect(ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, {
      CommandId: 'cmd-1',
      InstanceId: 'i-0aaaaaaaaaaaaaaa1',
    });
    expect(ssm).not.toHaveReceivedCommand(ListCommandsCommand);
  });

  it('reads a command of several hosts as a whole while it runs: one call, whatever its host count', async () => {
    // Prepare
    ssm
      .on(ListCommandsCommand, { CommandId: 'cmd-run' })
      .resolves({
        Commands: [{ CommandId: 'cmd-run', Status: 'InProgress', TargetCount: 2, CompletedCount: 1 }],
      })
      .on(ListCommandsCommand, { CommandId: 'cmd-new' })
      .resolves({ Commands: [] })
      .on(ListCommandsCommand, { CommandId: 'cmd-odd' })
      .resolves({ Commands: [{ CommandId: 'cmd-odd', Status: 'Paused' as never, TargetCount: 2 }] });
    const runner = new SsmCommandRunner();

    // Act
    const running = await runner.status({ commandId: 'cmd-run', hosts });
    const fresh = await runner.status({ commandId: 'cmd-new', hosts });
    const odd = runner.status({ commandId: 'cmd-odd', hosts });

    // Assess
    expect(running.map((r) => r.state)).toEqual(['running', 'running']);
    expect(fresh.map((r) => r.state)).toEqual(['pending', 'pending']);
    await expect(odd).rejects.toMatchObject({ name: 'UnknownCommandStatusError' });
    expect(ssm).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(ssm).toHaveReceivedCommandWith(ListCommandsCommand, { CommandId: 'cmd-run' });
  });

  it('rethrows other errors of GetCommandInvocation (a throttled read is no news: see ssm-status-reads)', async () => {
    finished('cmd-1');
    ssm
      .on(GetCommandInvocationCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    await expect(new SsmCommandRunner().status({ commandId: 'cmd-1', hosts })).rejects.toThrow(
      'not authorized',
    );
  });

  it('reports exit codes and the output tail of finished hosts, stdout then stderr', async () => {
    // Prepare
    finished('cmd-1');
    ssm
      .on(GetCommandInvocationCommand, { InstanceId: 'i-0aaaaaaaaaaaaaaa1' })
      .resolves({
        Status: 'Success',
        ResponseCode: 0,
        StandardOutputContent: 'done\n',
        StandardErrorContent: '',
      })
      .on(GetCommandInvocationCommand, { InstanceId: 'i-0aaaaaaaaaaaaaaa2' })
      .resolves({
        Status: 'Failed',
        ResponseCode: 2,
        StandardOutputContent: 'migrating\n',
        StandardErrorContent: 'relation "users" does not exist\n',
      });

    // Act
    const results = await new SsmCommandRunner().status({ commandId: 'cmd-1', hosts });

    // Assess
    expect(results).toEqual([
      { hostId: 'i-0aaaaaaaaaaaaaaa1', state: 'succeeded', exitCode: 0, outputTail: 'done\n' },
      {
        hostId: 'i-0aaaaaaaaaaaaaaa2',
        state: 'failed',
        exitCode: 2,
        outputTail: 'migrating\n--- stderr ---\nrelation "users" does not exist\n',
      },
    ]);
  });

  it('keeps the combined output within 24,000 characters, ending with stderr', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: 'o'.repeat(24_000),
      StandardErrorContent: `${'e'.repeat(7_990)}LAST ERROR`,
    });
    const [result] = await new SsmCommandRunner().status({ commandId: 'cmd-1', hosts: [hosts[0]!] });
    expect(result?.outputTail.length).toBeLessThanOrEqual(OUTPUT_TAIL_LIMIT);
    expect(result?.outputTail.endsWith('LAST ERROR')).toBe(true);
    expect(result?.outputTail).toContain('--- stderr ---');
  });

  it('says why a host failed without output (delivery problems)', async () => {
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', ResponseCode: -1 });
    const [result] = await new SsmCommandRunner().status({ commandId: 'cmd-1', hosts: [hosts[0]!] });
    expect(result).toEqual({
      hostId: 'i-0aaaaaaaaaaaaaaa1',
      state: 'timed-out',
      outputTail: 'SSM: DeliveryTimedOut',
    });
  });

  it('maps every SSM status', () => {
    expect(
      ['Pending', 'InProgress', 'Delayed', 'Success', 'Failed', 'TimedOut', 'Cancelled', 'Cancelling'].map(
        invocationState,
      ),
    ).toEqual([
      'pending',
      'running',
      'pending',
      'succeeded',
      'failed',
      'timed-out',
      'cancelled',
      'cancelled',
    ]);
  });
});

describe('SsmCommandRunner: bounded statuses, fleets beyond one call, idempotent sends', () => {
  const fleet: HostRef[] = Array.from({ length: 120 }, (_, i) => ({
    kind: 'ec2',
    id: `i-${String(i).padStart(17, '0')}`,
    region: 'eu-west-1',
  }));

  /** SSM as far as these calls go: SendCommand records the command, ListCommands lists them. */
  function fakeSsm() {
    const commands: { CommandId: string; Comment: string; InstanceIds: string[] }[] = [];
    ssm.on(SendCommandCommand).callsFake((input) => {
      const command = {
        CommandId: `cmd-${commands.length + 1}`,
        Comment: input.Comment ?? '',
        InstanceIds: input.InstanceIds ?? [],
      };
      commands.push(command);
      return { Command: command };
    });
    ssm.on(ListCommandsCommand).callsFake((input) => ({
      Commands: commands
        .filter((c) => input.CommandId === undefined || c.CommandId === input.CommandId)
        .map((c) => ({
          ...c,
          Status: 'Success',
          TargetCount: c.InstanceIds.length,
          CompletedCount: c.InstanceIds.length,
        })),
    }));
    return commands;
  }

  it('refuses a status it does not know instead of waiting on it for ever', async () => {
    expect(() => invocationState('Paused')).toThrow(
      expect.objectContaining({ name: 'UnknownCommandStatusError' }),
    );
    expect(() => invocationState(undefined)).toThrow(/status null/);
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Paused' as never, ResponseCode: -1 });
    await expect(
      new SsmCommandRunner().status({ commandId: 'cmd-1', hosts: [hosts[0]!] }),
    ).rejects.toMatchObject({
      name: 'UnknownCommandStatusError',
    });
  });

  it('sends to 120 hosts in 3 commands of at most 50 ids and reads each host from its own command', async () => {
    // Prepare
    const sent = fakeSsm();
    ssm.on(GetCommandInvocationCommand).callsFake((input) => ({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${input.CommandId} on ${input.InstanceId}`,
    }));
    const runner = new SsmCommandRunner();

    // Act
    const handle = await runner.send({
      hosts: fleet,
      script: 'true',
      timeoutSeconds: 60,
      comment: 'deploy shop v2',
      maxConcurrency: '120',
      maxErrors: '0',
    });
    const results = await runner.status(handle);

    // Assess
    expect(sent.map((c) => c.InstanceIds.length)).toEqual([50, 50, 20]);
    expect(sent.flatMap((c) => c.InstanceIds)).toEqual(fleet.map((h) => h.id));
    expect(ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.MaxConcurrency)).toEqual([
      '50',
      '50',
      '20',
    ]);
    expect(handle).toEqual({ commandId: 'cmd-1', commandIds: ['cmd-1', 'cmd-2', 'cmd-3'], hosts: fleet });
    expect(results).toHaveLength(120);
    expect(results[49]?.outputTail).toBe(`cmd-1 on ${fleet[49]?.id}`);
    expect(results[50]?.outputTail).toBe(`cmd-2 on ${fleet[50]?.id}`);
    expect(results[119]?.outputTail).toBe(`cmd-3 on ${fleet[119]?.id}`);
    // Each command read once as a whole, then its hosts; the send itself listed nothing.
    expect(ssm.commandCalls(ListCommandsCommand).map((c) => c.args[0].input)).toEqual([
      { CommandId: 'cmd-1' },
      { CommandId: 'cmd-2' },
      { CommandId: 'cmd-3' },
    ]);
  });

  it('sends once for one run, phase and batch: a retried send finds the commands the first one sent', async () => {
    // Prepare
    const sent = fakeSsm();
    const runner = new SsmCommandRunner();
    const request = {
      hosts: fleet,
      script: 'true',
      timeoutSeconds: 60,
      comment: 'stepops deploy shop v2 batch 1 run shop-3c1f',
      idempotency: { key: 'shop-3c1f/deploy/0', since: '2026-11-22T03:00:00.000Z' },
    };

    // Act: the first invocation sends and is killed before it answers; the retry sends again.
    const first = await runner.send(request);
    const retried = await runner.send(request);

    // Assess
    expect(sent).toHaveLength(3);
    expect(retried).toEqual(first);
    expect(sent[0]?.Comment).toBe(
      `${commandToken('shop-3c1f/deploy/0', 0)} stepops deploy shop v2 batch 1 run shop-3c1f`,
    );
    expect(sent[2]?.Comment.startsWith(`${commandToken('shop-3c1f/deploy/0', 2)} `)).toBe(true);
    expect(ssm).toHaveReceivedCommandWith(ListCommandsCommand, {
      Filters: [
        { key: 'DocumentName', value: 'AWS-RunShellScript' },
        // CommandFilter takes `2021-07-07T00:00:00Z`: whole seconds, no milliseconds.
        { key: 'InvokedAfter', value: '2026-11-22T03:00:00Z' },
      ],
      MaxResults: 50,
    });
    // Another batch of the same run is a new command.
    await runner.send({
      ...request,
      hosts: [fleet[0]!],
      idempotency: { ...request.idempotency, key: 'shop-3c1f/deploy/1' },
    });
    expect(sent).toHaveLength(4);
  });

  it('sends only the parts a killed send did not reach, reading every page of ListCommands', async () => {
    // Prepare: the first two parts went out before the Lambda died; they are on the second page.
    const key = 'shop-3c1f/deploy/0';
    ssm
      .on(ListCommandsCommand, { NextToken: undefined })
      .resolves({ Commands: [{ CommandId: 'other', Comment: 'someone else' }], NextToken: 'p2' })
      .on(ListCommandsCommand, { NextToken: 'p2' })
      .resolves({
        Commands: [
          { CommandId: 'cmd-a', Comment: `${commandToken(key, 0)} stepops deploy` },
          { CommandId: 'cmd-b', Comment: `${commandToken(key, 1)} stepops deploy` },
        ],
      });
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-c' } });

    // Act
    const handle = await new SsmCommandRunner().send({
      hosts: fleet,
      script: 'true',
      timeoutSeconds: 60,
      comment: 'stepops deploy',
      idempotency: { key, since: '2026-11-22T03:00:00.000Z' },
    });

    // Assess
    expect(handle.commandIds).toEqual(['cmd-a', 'cmd-b', 'cmd-c']);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(ssm.commandCalls(SendCommandCommand)[0]?.args[0].input.InstanceIds).toEqual(
      fleet.slice(100).map((h) => h.id),
    );
  });
});

describe('Ec2HostDirectory', () => {
  it('finds running instances by tags across pages and keeps those with an online agent', async () => {
    // Prepare
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          { Instances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }, { InstanceId: 'i-0aaaaaaaaaaaaaaa2' }] },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa3' }] }] });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: 'i-0aaaaaaaaaaaaaaa1', PingStatus: 'Online' },
        { InstanceId: 'i-0aaaaaaaaaaaaaaa2', PingStatus: 'ConnectionLost' },
        { InstanceId: 'i-0aaaaaaaaaaaaaaa3', PingStatus: 'Online' },
      ],
    });

    // Act
    const found = await new Ec2HostDirectory().resolve({
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'shop', Env: 'prod' },
    });

    // Assess
    expect(found).toEqual([
      { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' },
      { kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa3', region: 'eu-west-1' },
    ]);
    const filters = [
      { Name: 'tag:App', Values: ['shop'] },
      { Name: 'tag:Env', Values: ['prod'] },
      { Name: 'instance-state-name', Values: ['running'] },
    ];
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
    expect(ec2).toHaveReceivedNthCommandWith(DescribeInstancesCommand, 1, {
      Filters: filters,
      MaxResults: 1000,
    });
    expect(ec2).toHaveReceivedNthCommandWith(DescribeInstancesCommand, 2, {
      Filters: filters,
      MaxResults: 1000,
      NextToken: 'page-2',
    });
    expect(ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [
        { Key: 'InstanceIds', Values: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa3'] },
      ],
    });
  });

  it('looks instances up by id, still only running ones', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }] }] });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1', PingStatus: 'Online' }],
    });
    const found = await new Ec2HostDirectory().resolve({
      type: 'ec2',
      region: 'eu-west-1',
      instanceIds: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa9'],
    });
    expect(found).toEqual([{ kind: 'ec2', id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' }]);
    // A filter, not InstanceIds: an unknown or terminated id must not fail the whole lookup.
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual({
      Filters: [
        { Name: 'instance-id', Values: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa9'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
      MaxResults: 1000,
    });
  });

  it('reads every page of SSM instance information, 50 ids at a time', async () => {
    // Prepare
    const ids = Array.from({ length: 60 }, (_, i) => `i-0${String(i).padStart(16, '0')}`);
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: ids.map((InstanceId) => ({ InstanceId })) }] });
    ssm
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({
        InstanceInformationList: [{ InstanceId: ids[0], PingStatus: 'Online' }],
        NextToken: 'more',
      })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: ids[1], PingStatus: 'Online' }] })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: ids[55], PingStatus: 'Online' }] });

    // Act
    const found = await new Ec2HostDirectory().resolve({
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'x' },
    });

    // Assess
    expect(found.map((h) => h.id)).toEqual([ids[0], ids[1], ids[55]]);
    expect(ssm).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 3);
    expect(ssm).toHaveReceivedNthCommandWith(DescribeInstanceInformationCommand, 2, {
      Filters: [{ Key: 'InstanceIds', Values: ids.slice(0, 50) }],
      MaxResults: 50,
      NextToken: 'more',
    });
    expect(ssm).toHaveReceivedNthCommandWith(DescribeInstanceInformationCommand, 3, {
      Filters: [{ Key: 'InstanceIds', Values: ids.slice(50) }],
    });
  });

  it('returns no hosts without asking SSM when no instance runs', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    expect(
      await new Ec2HostDirectory().resolve({ type: 'ec2', region: 'eu-west-1', tags: { App: 'x' } }),
    ).toEqual([]);
    expect(ssm).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
  });
});

describe('AwsSnapshotService', () => {
  const tags = snapshotTags({ target: 'datizmo', runId: 'run-1', ref: 'v2' });

  it('snapshots every volume of each instance, tagged with target, run and ref', async () => {
    // Prepare
    ec2
      .on(CreateSnapshotsCommand, {
        InstanceSpecification: { InstanceId: 'i-0aaaaaaaaaaaaaaa1', ExcludeBootVolume: false },
      })
      .resolves({ Snapshots: [{ SnapshotId: 'snap-01' }, { SnapshotId: 'snap-02' }] })
      .on(CreateSnapshotsCommand, {
        InstanceSpecification: { InstanceId: 'i-0aaaaaaaaaaaaaaa2', ExcludeBootVolume: false },
      })
      .resolves({ Snapshots: [{ SnapshotId: 'snap-03' }] });

    // Act
    const ids = await new AwsSnapshotService().snapshotVolumes(hosts, tags);

    // Assess
    expect(ids).toEqual(['snap-01', 'snap-02', 'snap-03']);
    expect(ec2.commandCalls(CreateSnapshotsCommand)[0]?.args[0].input).toEqual({
      InstanceSpecification: { InstanceId: 'i-0aaaaaaaaaaaaaaa1', ExcludeBootVolume: false },
      Description: 'stepops datizmo v2',
      TagSpecifications: [
        {
          ResourceType: 'snapshot',
          Tags: [
            { Key: 'stepops:target', Value: 'datizmo' },
            { Key: 'stepops:run', Value: 'run-1' },
            { Key: 'stepops:ref', Value: 'v2' },
          ],
        },
      ],
      CopyTagsFromSource: 'volume',
    });
  });

  it('turns a failure into SnapshotFailedError naming the instance', async () => {
    ec2
      .on(CreateSnapshotsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    const error = await new AwsSnapshotService().snapshotVolumes(hosts, tags).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotFailedError);
    expect((error as Error).message).toBe(
      'could not snapshot the volumes of i-0aaaaaaaaaaaaaaa1: UnauthorizedOperation: not authorized',
    );
  });

  it('creates an RDS snapshot named stepops-<target>-<timestamp> with the tags', async () => {
    // Prepare
    rds
      .on(CreateDBSnapshotCommand)
      .resolves({ DBSnapshot: { DBSnapshotIdentifier: 'stepops-datizmo-20260301-020304' } });
    const service = new AwsSnapshotService({ now: () => new Date('2026-03-01T02:03:04.567Z') });

    // Act
    const id = await service.snapshotDatabase('eu-west-1', 'datizmo-db', tags);

    // Assess
    expect(id).toBe('stepops-datizmo-20260301-020304');
    expect(rds.commandCalls(CreateDBSnapshotCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: 'datizmo-db',
      DBSnapshotIdentifier: 'stepops-datizmo-20260301-020304',
      Tags: [
        { Key: 'stepops:target', Value: 'datizmo' },
        { Key: 'stepops:run', Value: 'run-1' },
        { Key: 'stepops:ref', Value: 'v2' },
      ],
    });
  });

  it('builds valid RDS identifiers', () => {
    const id = dbSnapshotIdentifier('ai-chat', new Date('2026-12-31T23:59:59Z'));
    expect(id).toBe('stepops-ai-chat-20261231-235959');
    expect(id).toMatch(/^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$/);
  });
});

describe('SnsNotifier', () => {
  const notification: Notification = {
    target: 'zmanim',
    workflow: 'deploy',
    outcome: 'rollback-failed',
    runId: 'run-9',
    summary: 'deploy of v3 failed and the rollback did not restore health',
    at: '2026-01-01T00:00:00.000Z',
  };

  it('publishes the notification as JSON with a short subject and filterable attributes', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const topic = 'arn:aws:sns:eu-west-1:123456789012:stepops-alerts';

    // Act
    await new SnsNotifier(topic).publish(notification);

    // Assess
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual({
      TopicArn: topic,
      Subject: 'stepops deploy zmanim: rollback-failed',
      Message: JSON.stringify(notification),
      MessageAttributes: {
        target: { DataType: 'String', StringValue: 'zmanim' },
        workflow: { DataType: 'String', StringValue: 'deploy' },
        outcome: { DataType: 'String', StringValue: 'rollback-failed' },
      },
    });
  });

  it('keeps subjects to 100 printable ASCII characters', () => {
    const subject = snsSubject({ ...notification, target: `é${'t'.repeat(150)}` });
    expect(subject.length).toBe(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe('DynamoLeaseStore', () => {
  // The conditions themselves run against dynalite in dynamo-lease-store.test.ts; this race (the
  // holder releases between the refused put and the read) cannot be timed on a real server.
  const client = new DynamoDBClient({ region: 'eu-west-1' });
  const store = () => new DynamoLeaseStore('stepops-state', { client, now: () => 1_000 });

  it('tries again when the holder released between the put and the read', async () => {
    dynamo
      .on(PutItemCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }))
      .resolves({});
    dynamo.on(GetItemCommand).resolves({});
    expect(await store().acquire('target:demo', 'run-2', 600)).toEqual({ acquired: true });
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 2);
  });
});
