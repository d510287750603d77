/**
 * The five real targets deployed by the deploy workflow on the local engine with the real handlers
 * and the AWS clients mocked at the command level (aws-sdk-client-mock): a small in-memory EC2,
 * SSM, RDS, DynamoDB and SNS that answer as the real APIs do (right after SendCommand,
 * GetCommandInvocation answers InvocationDoesNotExist; it returns only the first 24,000 characters
 * of stdout and 8,000 of stderr; conditional writes fail with ConditionalCheckFailedException).
 *
 * Asserted from the first call to the last: the lease in DynamoDB, the hosts, every command sent
 * with AWS-RunShellScript to the target's instance (verify, deploy, rollback) under a renewed lease,
 * the snapshot, the gate's host-side probes as SSM commands (the prober opens no socket to them),
 * the lease released, and the SNS publish last. The hosts answer as healthy hosts of each system
 * answer; in the failure case the host runs the script it was sent for real (bash, git, a docker
 * that fails its build after a long output).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
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
  type SendCommandCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const STATE_TABLE = 'stepops-audit-state';
const ALERTS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:stepops-audit-alerts';
const COMMAND_LOG_GROUP = '/stepops/audit/commands';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  // The stage's resources, as the stack passes them to the Lambdas (Lambda sets AWS_REGION, the stage's).
  process.env.AWS_REGION = 'us-east-1';
  process.env.STEPOPS_STATE_TABLE = 'stepops-audit-state';
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:stepops-audit-alerts';
  process.env.STEPOPS_COMMAND_LOG_GROUP = '/stepops/audit/commands';
});

import { createLocalDeployEngine } from '../../functions/index.ts';
import { readSnsAlerts } from '../../shared/alerts/forward.ts';
import { slackMessage } from '../../shared/alerts/slack.ts';
import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import type { LocalEngine, RunResult } from '../../shared/engine/index.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import '../iam/record-calls.ts';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const rds = mockClient(RDSClient);
const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);

/** One instance per target, found by the target's tags. */
const INSTANCES: Record<string, string> = {
  datizmo: 'i-0da71a2b3c4d5e6f7',
  shop: 'i-05a0b1c2d3e4f5a6b',
  docsai: 'i-0d0c5a1b2c3d4e5f6',
  zmanim: 'i-02a4b6c8d0e2f4a6b',
  'ai-chat': 'i-0a1c2e4f6a8b0c2d4',
};

/** What a host prints, in full (SSM keeps only the heads). */
interface HostOutput {
  code: number;
  stdout: string;
  stderr: string;
}

interface SentCommand {
  id: string;
  input: SendCommandCommandInput;
  at: Date;
  reads: number;
  output: HostOutput;
}

/** A command's kind and target, from the comment stepops gives it (after its idempotency token). */
function commandKind(input: SendCommandCommandInput): { kind: string; target: string } {
  const match = /(?:^|\s)stepops (verify|deploy|rollback|probes) (\S+)/.exec(input.Comment ?? '');
  if (!match) throw new Error(`not a stepops command: ${input.Comment}`);
  return { kind: match[1] as string, target: match[2] as string };
}

function scriptOf(input: SendCommandCommandInput): string {
  return input.Parameters?.commands?.[0] ?? '';
}

/** The line a host-side probe writes: `STEPOPS_PROBE <name> <code> <bytes> <base64>`. */
function probeLine(name: string, code: number, printed: string): string {
  return `STEPOPS_PROBE ${name} ${code} ${Buffer.byteLength(printed)} ${Buffer.from(printed).toString('base64')}`;
}

/** What curl's part of a host-side HTTP probe prints on a healthy host. */
function http(status: number, body: string, contains?: boolean): string {
  const found = contains === undefined ? '' : `STEPOPS_CONTAINS ${contains ? 'yes' : 'no'}\n`;
  return `STEPOPS_HTTP ${status} 0.004 ${Buffer.byteLength(body)}\n${found}${body}`;
}

/** How a healthy host of each system answers each probe of its deploy's health gate. */
const HEALTHY: Record<string, Record<string, string>> = {
  datizmo: {
    backend: http(404, '{"message":"Cannot GET /","statusCode":404}'),
    frontend: http(200, '<!DOCTYPE html><html><title>Datizmo</title></html>'),
    'pm2-processes': 'backend and frontend online\n',
  },
  shop: {
    'gateway-health': http(200, '{"status":"ok"}'),
    'gateway-ready': http(200, '{"ready":true}'),
    'backend-health': http(200, '{"status":"ok","db":"up"}'),
    mongodb: '1\n',
  },
  docsai: {
    app: http(302, ''),
    gunicorn: 'active\n',
    'gunicorn-socket': '/run/gunicorn.sock present\n',
  },
  zmanim: { 'api-local': http(200, '{"status":"healthy"}') },
  'ai-chat': {
    server: http(200, '<!DOCTYPE html><title>AI chat</title>'),
    mongodb: '1\n',
    qdrant: http(200, 'healthz check passed', true),
  },
};

/** A healthy host: a verify, deploy or rollback script prints its steps and succeeds; probes pass. */
function healthyHost(input: SendCommandCommandInput): HostOutput {
  const { kind, target } = commandKind(input);
  const script = scriptOf(input);
  if (kind === 'probes') {
    const names = /^export STEPOPS_PROBES='([^']*)'$/m.exec(script)?.[1]?.split(' ') ?? [];
    const lines = names.map((name) => {
      const answer = HEALTHY[target]?.[name];
      return answer === undefined
        ? probeLine(name, 7, 'curl: (7) Failed to connect')
        : probeLine(name, 0, answer);
    });
    return { code: 0, stdout: `${lines.join('\n')}\n`, stderr: '' };
  }
  const steps = [...script.matchAll(/^\s*stepops_step '([^']+)'/gm)].map((m) => m[1] as string);
  return { code: 0, stdout: steps.map((s) => `==> ${s}\nok\n`).join(''), stderr: '' };
}

/** What the fakes hold, and every AWS call in the order it was made. */
const world = {
  calls: [] as { api: string; input: Record<string, unknown> }[],
  commands: new Map<string, SentCommand>(),
  table: new Map<string, Record<string, AttributeValue>>(),
  host: healthyHost as (input: SendCommandCommandInput) => HostOutput,
  /** The status SSM reports for a finished command (its exit code's by default). */
  status: (_command: SentCommand): string | undefined => undefined,
};

function record(api: string, input: unknown): void {
  world.calls.push({ api, input: input as Record<string, unknown> });
}

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

function fakeAws(): void {
  for (const client of [ec2, ssm, rds, dynamo, sns]) client.reset();
  world.calls = [];
  world.commands.clear();
  world.table.clear();
  world.host = healthyHost;
  world.status = () => undefined;

  ec2.on(DescribeInstancesCommand).callsFake((input) => {
    record('EC2.DescribeInstances', input);
    // The instance tagged stepops:target = the target, as docs/hosts.md prepares it.
    const app = input.Filters.find((f: { Name: string }) => f.Name === 'tag:stepops:target')?.Values[0];
    const id = INSTANCES[app];
    return { Reservations: id ? [{ Instances: [{ InstanceId: id, State: { Name: 'running' } }] }] : [] };
  });
  ec2.on(CreateSnapshotsCommand).callsFake((input) => {
    record('EC2.CreateSnapshots', input);
    return { Snapshots: [{ SnapshotId: 'snap-0a1b2c3d4e5f60718', State: 'pending', VolumeSize: 30 }] };
  });
  rds.on(CreateDBSnapshotCommand).callsFake((input) => {
    record('RDS.CreateDBSnapshot', input);
    return { DBSnapshot: { DBSnapshotIdentifier: input.DBSnapshotIdentifier, Status: 'creating' } };
  });

  ssm.on(DescribeInstanceInformationCommand).callsFake((input) => {
    record('SSM.DescribeInstanceInformation', input);
    const ids: string[] = input.Filters?.[0]?.Values ?? [];
    return { InstanceInformationList: ids.map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })) };
  });
  ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
    record('SSM.SendCommand', input);
    const id = `0c${String(world.commands.size + 1).padStart(6, '0')}-aaaa-bbbb-cccc-${'d'.repeat(12)}`;
    world.commands.set(id, { id, input, at: new Date(), reads: 0, output: world.host(input) });
    return {
      Command: { CommandId: id, Comment: input.Comment, DocumentName: input.DocumentName, Status: 'Pending' },
    };
  });
  ssm.on(ListCommandsCommand).callsFake((input) => {
    record('SSM.ListCommands', input);
    const since = input.Filters?.find((f: { key: string }) => f.key === 'InvokedAfter')?.value;
    const listed = [...world.commands.values()].filter(
      (c) => (!input.CommandId || c.id === input.CommandId) && (!since || c.at >= new Date(since)),
    );
    return {
      Commands: listed.map((c) => ({
        CommandId: c.id,
        Comment: c.input.Comment,
        DocumentName: c.input.DocumentName,
        Status: c.output.code === 0 ? 'Success' : 'Failed',
        TargetCount: c.input.InstanceIds?.length ?? 0,
        CompletedCount: c.input.InstanceIds?.length ?? 0,
      })),
    };
  });
  ssm.on(GetCommandInvocationCommand).callsFake((input) => {
    record('SSM.GetCommandInvocation', input);
    const command = world.commands.get(input.CommandId);
    if (!command?.input.InstanceIds?.includes(input.InstanceId)) {
      throw new InvocationDoesNotExist({ message: 'InvocationDoesNotExist', $metadata: {} });
    }
    command.reads += 1;
    // Right after SendCommand the invocation does not exist yet.
    if (command.reads === 1)
      throw new InvocationDoesNotExist({ message: 'InvocationDoesNotExist', $metadata: {} });
    const { code, stdout, stderr } = command.output;
    return {
      CommandId: command.id,
      InstanceId: input.InstanceId,
      Status: world.status(command) ?? (code === 0 ? 'Success' : 'Failed'),
      StatusDetails: code === 0 ? 'Success' : 'Failed',
      ResponseCode: code,
      // GetCommandInvocation returns the first 24,000 characters of stdout and 8,000 of stderr.
      StandardOutputContent: stdout.slice(0, 24_000),
      StandardErrorContent: stderr.slice(0, 8_000),
    };
  });

  dynamo.on(PutItemCommand).callsFake((input) => {
    record('DynamoDB.PutItem', input);
    const pk = input.Item.pk.S as string;
    const current = world.table.get(pk);
    const now = Number(input.ExpressionAttributeValues[':now'].N);
    const owner = input.ExpressionAttributeValues[':owner'].S;
    // attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :owner
    if (current && !(Number(current.expiresAt?.N) <= now) && current.owner?.S !== owner)
      throw conditionFailed();
    world.table.set(pk, input.Item);
    return {};
  });
  dynamo.on(GetItemCommand).callsFake((input) => {
    record('DynamoDB.GetItem', input);
    const item = world.table.get(input.Key.pk.S);
    return item ? { Item: item } : {};
  });
  dynamo.on(DeleteItemCommand).callsFake((input) => {
    record('DynamoDB.DeleteItem', input);
    const pk = input.Key.pk.S as string;
    if (world.table.get(pk)?.owner?.S !== input.ExpressionAttributeValues[':owner'].S)
      throw conditionFailed();
    world.table.delete(pk);
    return {};
  });

  sns.on(PublishCommand).callsFake((input) => {
    record('SNS.Publish', input);
    return { MessageId: `msg-${world.calls.length}` };
  });
}

/** The AWS calls' names in order, a run of status reads of one command counted once. */
function callSequence(): string[] {
  const names: string[] = [];
  for (const { api } of world.calls)
    if (names.at(-1) !== api || api !== 'SSM.GetCommandInvocation') names.push(api);
  return names;
}

function sent(kind: string): SendCommandCommandInput[] {
  return [...world.commands.values()].map((c) => c.input).filter((input) => commandKind(input).kind === kind);
}

function published(): Notification[] {
  return world.calls
    .filter((c) => c.api === 'SNS.Publish')
    .map((c) => JSON.parse(c.input.Message as string) as Notification);
}

/** The gate probes of a target that run on the host, and those the prober runs itself. */
function gateProbes(target: Target): { host: string[]; prober: string[] } {
  const gate = target.deploy?.healthGate.probes ?? [];
  const probes = (target.health?.probes ?? []).filter((p) => gate.includes(p.name));
  const onHost = (p: (typeof probes)[number]) =>
    p.type === 'command' || (p.type === 'http' && p.from === 'host');
  return {
    host: probes.filter(onHost).map((p) => p.name),
    prober: probes.filter((p) => !onHost(p)).map((p) => p.name),
  };
}

let engine: LocalEngine;
let home: string;
let clearTargets: () => void;
const fetched: string[] = [];

beforeAll(() => {
  // The real targets as a user deploys them: with their unfilled(…) values filled in.
  clearTargets = registerFilledTargets();
  home = mkdtempSync(path.join(tmpdir(), 'stepops-deploy-targets-'));
  process.env.STEPOPS_HOME = home;
  // The one probe of a gate that the prober runs itself (zmanim's public health route).
  vi.stubGlobal('fetch', async (url: string | URL) => {
    fetched.push(String(url));
    return new Response('{"status":"healthy","database":"ok"}', {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  });
  engine = createLocalDeployEngine();
});
afterAll(() => {
  vi.unstubAllGlobals();
  clearTargets();
  rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  fakeAws();
  fetched.length = 0;
});

function deploy(target: string, ref: string, runId: string): Promise<RunResult> {
  return engine.start({ target, ref, reason: 'release', requestedBy: 'audit' }, { executionName: runId })
    .result;
}

/** The calls of one command sent under the run's lease: the lease checked and renewed, a retried send looked up, the send, its reads. */
const UNDER_LEASE = [
  'DynamoDB.GetItem',
  'DynamoDB.PutItem',
  'SSM.ListCommands',
  'SSM.SendCommand',
  'SSM.GetCommandInvocation',
];
/** The calls of one gate round: the host-side probes as one command, its reads. */
const PROBE_ROUND = ['SSM.SendCommand', 'SSM.GetCommandInvocation'];

describe('the five targets deploy on the local engine against mocked AWS', () => {
  it.each(Object.keys(INSTANCES))(
    '%s: lease, hosts, verify, snapshot, deploy, host-side gate, release, SNS publish last',
    async (name) => {
      // Prepare
      const target = findTarget(name);
      const instance = INSTANCES[name] as string;
      const hosts = target.hosts as Extract<Target['hosts'], { type: 'ec2' }>;
      const runId = `audit-${name}-1`;
      const leaseKey = `lease#target:${name}`;
      const { host: hostProbes, prober } = gateProbes(target);
      const successes = target.deploy?.healthGate.successes ?? 1;

      // Act
      const result = await deploy(name, 'v3.1.0', runId);

      // Assess: the calls, in order, from the lease to the publish
      expect(result.status).toBe('SUCCEEDED');
      const snapshot = target.deploy?.snapshotBeforeDeploy?.rdsInstance
        ? 'RDS.CreateDBSnapshot'
        : 'EC2.CreateSnapshots';
      expect(callSequence()).toEqual([
        'DynamoDB.PutItem',
        'EC2.DescribeInstances',
        'SSM.DescribeInstanceInformation',
        ...UNDER_LEASE,
        snapshot,
        ...UNDER_LEASE,
        ...Array.from({ length: successes }, () => PROBE_ROUND).flat(),
        'DynamoDB.DeleteItem',
        'SNS.Publish',
      ]);

      // The lease: taken for this run in the stage's table, renewed before each command, released.
      const puts = world.calls.filter((c) => c.api === 'DynamoDB.PutItem').map((c) => c.input);
      expect(puts).toHaveLength(3);
      for (const put of puts) {
        expect(put).toMatchObject({
          TableName: STATE_TABLE,
          Item: { pk: { S: leaseKey }, owner: { S: runId } },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :owner',
        });
      }
      expect(world.calls.find((c) => c.api === 'DynamoDB.DeleteItem')?.input).toMatchObject({
        TableName: STATE_TABLE,
        Key: { pk: { S: leaseKey } },
        ExpressionAttributeValues: { ':owner': { S: runId } },
      });
      expect(world.table.size).toBe(0);

      // The hosts: by the target's tags, running, with an online agent.
      expect(world.calls.find((c) => c.api === 'EC2.DescribeInstances')?.input.Filters).toEqual([
        ...Object.entries('tags' in hosts ? hosts.tags : {}).map(([k, v]) => ({
          Name: `tag:${k}`,
          Values: [v],
        })),
        { Name: 'instance-state-name', Values: ['running'] },
      ]);

      // Every command: AWS-RunShellScript to this target's instance, in its working directory, output to the log group.
      const commands = [...world.commands.values()].map((c) => c.input);
      expect(commands.length).toBeGreaterThan(0);
      for (const input of commands) {
        expect(input).toMatchObject({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: [instance],
          Parameters: { workingDirectory: [hosts.workingDirectory] },
          CloudWatchOutputConfig: {
            CloudWatchLogGroupName: COMMAND_LOG_GROUP,
            CloudWatchOutputEnabled: true,
          },
        });
      }
      const [verify] = sent('verify');
      const [deployed] = sent('deploy');
      expect(sent('verify')).toHaveLength(1);
      expect(sent('deploy')).toHaveLength(1);
      expect(sent('rollback')).toHaveLength(0);
      expect(scriptOf(verify!)).toContain("export STEPOPS_REF='v3.1.0'");
      expect(scriptOf(verify!)).toContain('ref-exists');
      const steps = target.deploy?.steps.map((s) => s.name) ?? [];
      const labels = [...scriptOf(deployed!).matchAll(/^\s*stepops_step 'step \d+\/\d+: ([^']+)'/gm)].map(
        (m) => m[1],
      );
      expect(labels).toEqual(steps);
      expect(scriptOf(deployed!)).toContain(`export STEPOPS_RUN_ID='${runId}'`);
      // As the target's user (root needs no sudo), with its PATH entries, this host as host 0 of 1.
      const script = scriptOf(deployed!);
      if (hosts.user && hosts.user !== 'root') expect(script).toContain(`sudo -u '${hosts.user}' -H`);
      else expect(script).not.toContain('sudo -u');
      for (const entry of hosts.path ?? []) expect(script).toContain(entry);
      expect(script).toContain(`'${instance}') STEPOPS_HOST_INDEX=0 ;;`);
      for (const step of target.deploy?.steps.filter((s) => s.runOnce) ?? []) {
        const guarded = new RegExp(
          `if \\[ "\\$STEPOPS_HOST_INDEX" = 0 \\]; then\\n(?:.*\\n)?\\s*stepops_step '[^']*: ${step.name}'`,
        );
        expect(script).toMatch(guarded);
      }
      const stepSeconds = target.deploy?.steps.reduce((n, s) => n + s.timeout, 0) ?? 0;
      expect(Number(deployed!.Parameters?.executionTimeout?.[0])).toBeGreaterThanOrEqual(stepSeconds);
      expect(deployed!.Comment).toMatch(/^stepops:[0-9a-f]{16}\.0 stepops deploy /);

      // The snapshot before the deploy, tagged with the run.
      const taken = world.calls.find((c) => c.api === snapshot)?.input;
      if (snapshot === 'RDS.CreateDBSnapshot') {
        expect(taken).toMatchObject({ DBInstanceIdentifier: 'datizmo-db' });
      } else {
        expect(taken).toMatchObject({
          InstanceSpecification: { InstanceId: instance, ExcludeBootVolume: false },
        });
      }
      const tags = taken?.Tags ?? (taken?.TagSpecifications as { Tags: unknown }[] | undefined)?.[0]?.Tags;
      expect(tags).toEqual(
        expect.arrayContaining([
          { Key: 'stepops:run', Value: runId },
          { Key: 'stepops:ref', Value: 'v3.1.0' },
        ]),
      );

      // The gate: each round's host-side probes as one SSM command; HTTP ones as curl on the host.
      const probes = sent('probes');
      expect(probes).toHaveLength(successes);
      for (const input of probes) {
        const script = scriptOf(input);
        expect(script).toContain(`export STEPOPS_PROBES='${hostProbes.join(' ')}'`);
        for (const probe of target.health?.probes ?? []) {
          if (probe.type === 'http' && probe.from === 'host' && hostProbes.includes(probe.name)) {
            expect(script).toContain(`'${probe.url}'`);
            expect(script).toMatch(/curl --silent --show-error --max-time \d+/);
          }
        }
      }
      // The prober itself fetched only the public probes; no host-side probe opened a socket here.
      expect(fetched).toEqual(
        prober.flatMap((p) => {
          const probe = target.health?.probes.find((x) => x.name === p);
          return probe?.type === 'http' ? Array(successes).fill(probe.url) : [];
        }),
      );
      for (const url of fetched) expect(new URL(url).hostname).not.toBe('127.0.0.1');

      // The notification: published last, to the stage's topic, filterable by target and outcome.
      const publish = world.calls.at(-1)?.input;
      expect(publish).toMatchObject({
        TopicArn: ALERTS_TOPIC,
        Subject: `stepops deploy ${name}: succeeded`,
        MessageAttributes: {
          target: { DataType: 'String', StringValue: name },
          outcome: { DataType: 'String', StringValue: 'succeeded' },
        },
      });
      expect(published()).toEqual([
        expect.objectContaining({
          target: name,
          workflow: 'deploy',
          outcome: 'succeeded',
          runId,
          ref: 'v3.1.0',
        }),
      ]);
      expect(result.output).toMatchObject({ outcome: 'succeeded' });
    },
  );
});

describe('a failing step of a real target on AWS', () => {
  const CAUSE =
    'ERROR: failed to solve: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1';
  let root: string;
  let hostDir: string;
  let commits: { v2: string; v3: string };
  const gitEnv = {
    GIT_AUTHOR_NAME: 'test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, { cwd, env: { ...process.env, ...gitEnv }, encoding: 'utf8' }).trim();

  beforeAll(() => {
    // shop's checkout at v2 with origin holding v3, whose image build fails after a long output.
    root = mkdtempSync(path.join(tmpdir(), 'stepops-shop-host-'));
    const origin = path.join(root, 'origin');
    hostDir = path.join(root, 'ecommerce');
    mkdirSync(origin);
    git(origin, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(origin, 'release.txt'), 'v2\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-q', '-m', 'v2');
    git(origin, 'tag', 'v2');
    const v2 = git(origin, 'rev-parse', 'HEAD');
    writeFileSync(path.join(origin, 'BROKEN_BUILD'), 'the gateway image does not build\n');
    git(origin, 'add', '.');
    git(origin, 'commit', '-q', '-m', 'v3');
    git(origin, 'tag', 'v3');
    commits = { v2, v3: git(origin, 'rev-parse', 'HEAD') };
    git(root, 'clone', '-q', origin, hostDir);
    git(hostDir, 'checkout', '-q', '--detach', 'v2');
    // The host's tools: docker (whose build fails on v3 after 6,000 lines) and sysctl.
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'docker'),
      `#!/usr/bin/env bash
case " $* " in
  *" build "*|*" --build "*)
    if [ -e BROKEN_BUILD ]; then
      for i in $(seq 1 6000); do echo "#$i [gateway 3/9] RUN npm ci ... downloading layer $i"; done
      echo ${JSON.stringify(CAUSE)} >&2
      exit 1
    fi
    echo "built gateway backend" ;;
  *) echo "docker $*" ;;
esac
`,
    );
    writeFileSync(path.join(bin, 'sysctl'), '#!/usr/bin/env bash\necho 262144\n');
    for (const tool of ['docker', 'sysctl']) chmodSync(path.join(bin, tool), 0o755);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** shop's host: runs the verify, deploy and rollback scripts it is sent with bash; its services answer healthy. */
  function shopHost(input: SendCommandCommandInput): HostOutput {
    if (commandKind(input).kind === 'probes') return healthyHost(input);
    // The host's /opt/ecommerce is the checkout in the temporary directory.
    const script = scriptOf(input).replace("cd '/opt/ecommerce'", `cd '${hostDir}'`);
    const ran = spawnSync('bash', ['-c', script], {
      env: {
        ...process.env,
        ...gitEnv,
        PATH: `${path.join(root, 'bin')}:${process.env.PATH}`,
        AWS_SSM_INSTANCE_ID: input.InstanceIds?.[0],
      },
      encoding: 'utf8',
      maxBuffer: 1e8,
    });
    return { code: ran.status ?? 1, stdout: ran.stdout, stderr: ran.stderr };
  }

  it('rolls back, and the alert (SNS message and its Slack message) ends with the failing step’s last lines', async () => {
    // Prepare
    world.host = shopHost;
    const instance = INSTANCES.shop as string;

    // Act
    const result = await deploy('shop', 'v3', 'audit-shop-broken');

    // Assess: the build failed on the host, the rollback ran there, the host is back at v2
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployFailedError');
    const failedDeploy = [...world.commands.values()].find((c) => commandKind(c.input).kind === 'deploy');
    expect(failedDeploy?.output.code).toBe(1);
    expect(failedDeploy?.output.stdout.length).toBeGreaterThan(24_000);
    expect(failedDeploy?.output.stdout.slice(0, 24_000)).not.toContain(CAUSE);
    expect(sent('rollback')).toEqual([expect.objectContaining({ InstanceIds: [instance] })]);
    expect(git(hostDir, 'rev-parse', 'HEAD')).toBe(commits.v2);
    expect(callSequence().slice(-2)).toEqual(['DynamoDB.DeleteItem', 'SNS.Publish']);

    // The notification names the state, the host and the end of the output.
    const [notification] = published();
    expect(notification).toMatchObject({
      target: 'shop',
      outcome: 'rolled-back',
      failedState: 'WaitForDeploy',
      host: instance,
    });
    expect(notification?.outputTail).toContain(CAUSE);
    expect(notification?.outputTail).toContain('downloading layer 6000');
    expect(
      notification?.outputTail?.trimEnd().endsWith('==> step 3/3: build-and-start failed with exit code 1'),
    ).toBe(true);

    // The forwarder reads the SNS message as SNS delivers it; the Slack message shows those lines.
    const publish = world.calls.at(-1)?.input as { Message: string };
    const [alert] = readSnsAlerts({ Records: [{ Sns: { MessageId: 'm-1', Message: publish.Message } }] });
    expect(alert && 'notification' in alert).toBe(true);
    const message = slackMessage((alert as { notification: Notification }).notification);
    const output = message.blocks.find(
      (b) => b.type === 'section' && 'text' in b && b.text?.text.startsWith('*Output (tail)*'),
    ) as { text: { text: string } } | undefined;
    expect(output?.text.text).toContain(CAUSE);
    expect(output?.text.text).toContain('build-and-start failed with exit code 1');
  });
});

describe('every run of a real target is bounded, on AWS', () => {
  it('ends a command SSM reports in a status stepops does not know, rolls back and releases the lease', async () => {
    // Prepare: SSM answers the deploy command with a status added after this code was written.
    world.status = (command) => (commandKind(command.input).kind === 'deploy' ? 'Paused' : undefined);

    // Act
    const result = await deploy('zmanim', 'v3.2.0', 'audit-zmanim-unknown');

    // Assess: one read of that status, then the rollback; the lease is released and the alert says why.
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployFailedError');
    expect(sent('deploy')).toHaveLength(1);
    const deployId = [...world.commands.values()].find((c) => commandKind(c.input).kind === 'deploy')?.id;
    const reads = world.calls.filter(
      (c) => c.api === 'SSM.GetCommandInvocation' && c.input.CommandId === deployId,
    );
    expect(reads).toHaveLength(2);
    expect(sent('rollback')).toEqual([expect.objectContaining({ InstanceIds: [INSTANCES.zmanim] })]);
    expect(world.table.size).toBe(0);
    expect(callSequence().slice(-2)).toEqual(['DynamoDB.DeleteItem', 'SNS.Publish']);
    const [notification] = published();
    expect(notification).toMatchObject({ outcome: 'rolled-back', failedState: 'WaitForDeploy' });
    expect(notification?.cause).toContain('UnknownCommandStatusError');
    expect(notification?.cause).toContain('"Paused"');
  });

  it('stops before touching the host when another run took the lease, and leaves that lease alone', async () => {
    // Prepare: while the verify command runs, the lease expires and another run takes it.
    const key = 'lease#target:ai-chat';
    world.host = (input) => {
      if (commandKind(input).kind === 'verify') {
        world.table.set(key, {
          pk: { S: key },
          leaseKey: { S: 'target:ai-chat' },
          owner: { S: 'another-run' },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3_600) },
        });
      }
      return healthyHost(input);
    };

    // Act
    const result = await deploy('ai-chat', 'v4.0.0', 'audit-ai-chat-lost');

    // Assess: no deploy or rollback command reached the host; the other run keeps its lease.
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RollbackFailedError');
    expect(sent('verify')).toHaveLength(1);
    expect(sent('deploy')).toHaveLength(0);
    expect(sent('rollback')).toHaveLength(0);
    expect(world.table.get(key)?.owner?.S).toBe('another-run');
    const failed = result.trace.events.find(
      (e) => e.kind === 'state-failed' && e.state === 'SendDeployCommand',
    );
    expect(failed).toMatchObject({ error: 'LeaseLostError' });
    expect(failed?.cause).toContain('run another-run holds it');
    expect(callSequence().at(-1)).toBe('SNS.Publish');
    const [notification] = published();
    expect(notification).toMatchObject({ target: 'ai-chat', outcome: 'rollback-failed' });
    expect(notification?.cause).toContain('no longer holds the lease');
  });
});
