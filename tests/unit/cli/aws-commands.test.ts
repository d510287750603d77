/**
 * The operator's commands against a stage on AWS, with Step Functions (and SSM for `logs`) mocked at
 * the command level: paged state machines, executions and histories as the API pages them, a run
 * that moves on between polls, a failed Map iteration, a caught error, credentials and stages that
 * are not there.
 */

import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommandInvocationCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { deploy } from '../../../cli/commands/deploy.ts';
import { follow } from '../../../cli/commands/follow.ts';
import { history } from '../../../cli/commands/history.ts';
import { logs } from '../../../cli/commands/logs.ts';
import { rollback } from '../../../cli/commands/rollback.ts';
import { status } from '../../../cli/commands/status.ts';
import { type Output, reportError } from '../../../cli/output.ts';
import { sfnClient } from '../../../cli/runs/aws.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import type { TargetInput } from '../../../shared/config/schema.ts';
import { gateFailedDeploy, HistoryBuilder } from '../../helpers/sfn-history.ts';
import { ec2Target, rdsSnapshotJob } from '../api/fixtures.ts';
import { fakeSfn, machineArn } from './fake-sfn.ts';

let sfn: ReturnType<typeof fakeSfn>;
const ssm = mockClient(SSMClient);
const cloudWatch = mockClient(CloudWatchLogsClient);
const dynamo = mockClient(DynamoDBClient);
let lines: string[];
let errors: string[];
let waits: number[];
const output: Output = {
  out: (text) => lines.push(...text.replace(/\n$/, '').split('\n')),
  err: (text) => errors.push(...text.replace(/\n$/, '').split('\n')),
};
const sleep = async (ms: number) => {
  waits.push(ms);
};
const env = { USER: 'ana' } as NodeJS.ProcessEnv;

/** Runs a command as the CLI does: its exit code, or the one `reportError` gives what it threw. */
async function exitOf(run: Promise<number>): Promise<number> {
  try {
    return await run;
  } catch (error) {
    return reportError(error, output);
  }
}

beforeEach(() => {
  ssm.reset();
  cloudWatch.reset();
  dynamo.reset();
  sfn?.mock.restore();
  sfn = fakeSfn({ prod: ['deploy'], staging: ['deploy'] });
  lines = [];
  errors = [];
  waits = [];
  clearRegisteredTargets();
  registerTarget(ec2Target('api-server', 'acme/api-server'));
  registerTarget({ ...ec2Target('demo-local'), hosts: { type: 'local', directory: '/tmp/nowhere' } });
});

afterAll(() => {
  sfn.mock.restore();
  ssm.restore();
  cloudWatch.restore();
  clearRegisteredTargets();
});

const PROD_DEPLOY = machineArn('stepops-prod-deploy');

/** A target whose database is snapshotted daily at 03:00 UTC. */
function shopWithSnapshots(job: { rpoHours?: number } = {}): TargetInput {
  return { ...ec2Target('shop'), backup: [rdsSnapshotJob(job)] };
}

describe('deploy --stage', () => {
  it('starts the stage deploy under an idempotent name and follows it live to its end', async () => {
    // Prepare: the run reveals 12 events per history call, as a running execution moves on
    const run = gateFailedDeploy(new Date());
    sfn.onStart(run.events, { status: 'FAILED', error: run.error, cause: run.cause }, 12);

    // Act
    const code = await deploy(
      'api-server',
      { ref: 'v3', stage: 'prod', reason: 'release 3', idempotencyKey: 'rel-3' },
      { sfn: sfn.client, output, sleep, env, interactive: false },
    );

    // Assess
    expect(code).toBe(1);
    const start = sfn.mock.commandCalls(StartExecutionCommand);
    expect(start).toHaveLength(1);
    expect(start[0]!.args[0].input).toEqual({
      stateMachineArn: PROD_DEPLOY,
      name: expect.stringMatching(/^api-server-[0-9a-f]{16}$/),
      input: JSON.stringify({
        target: 'api-server',
        ref: 'v3',
        reason: 'release 3',
        requestedBy: 'ana (stepops deploy)',
      }),
    });
    expect(lines[0]).toMatch(/^started deploy api-server-[0-9a-f]{16} of api-server at v3 on stage prod$/);
    expect(lines).toContain('  ✔ PlanDeploy  260 ms');
    expect(lines).toContain('  ▸ CheckHealth [1]');
    expect(lines.some((l) => /^\s+\+\d+\.\d{3}s\s+\[1\] BatchFailed\s+Fail/.test(l))).toBe(true);
    expect(lines).toContain('✖ deploy of api-server at v3 failed: DeployFailedError after 1 min 35 s');
    expect(lines).toContain('  failed state: CheckHealth (batch 2 of 2)');
    // Polls while it ran, waiting 1 s after each page that brought events.
    expect(waits.length).toBeGreaterThan(3);
    expect(waits.every((w) => w === 1000)).toBe(true);
  });

  it('is idempotent: the same key answers the run the first command started', async () => {
    // Prepare
    const run = gateFailedDeploy(new Date());
    sfn.onStart(run.events, { status: 'FAILED', error: run.error, cause: run.cause });
    const options = { ref: 'v3', stage: 'prod', idempotencyKey: 'same', follow: false };

    // Act
    await deploy('api-server', options, { sfn: sfn.client, output, env });
    const first = lines.at(-1);
    await deploy('api-server', options, { sfn: sfn.client, output, env });

    // Assess
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect(lines.at(-1)).toBe(first);
    expect(lines).toContainEqual(expect.stringMatching(/^already started deploy /));
  });

  it('prints the run id with --no-follow and reads no history', async () => {
    // Prepare
    sfn.onStart(gateFailedDeploy().events, undefined);

    // Act
    const code = await deploy(
      'api-server',
      { ref: 'v3', stage: 'prod', follow: false },
      { sfn: sfn.client, output, env },
    );

    // Assess
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatch(/^api-server-[0-9a-f]{16}$/);
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('refuses a bad ref, a local target and an unknown target with exit 2 before asking AWS anything', async () => {
    // Act
    const badRef = await exitOf(
      deploy('api-server', { ref: '--upload-pack=x', stage: 'prod' }, { sfn: sfn.client, output, env }),
    );
    const local = await exitOf(
      deploy('demo-local', { ref: 'v2', stage: 'prod' }, { sfn: sfn.client, output, env }),
    );
    const unknown = await exitOf(
      deploy('nope', { ref: 'v2', stage: 'prod' }, { sfn: sfn.client, output, env }),
    );

    const badKey = await exitOf(
      deploy(
        'api-server',
        { ref: 'v2', stage: 'prod', idempotencyKey: 'two words' },
        { sfn: sfn.client, output, env },
      ),
    );
    const both = await exitOf(
      deploy('api-server', { ref: 'v2', stage: 'prod', local: true }, { sfn: sfn.client, output, env }),
    );
    const noRef = await exitOf(deploy('api-server', { stage: 'prod' }, { sfn: sfn.client, output, env }));

    // Assess
    expect([badRef, local, unknown, badKey, both, noRef]).toEqual([2, 2, 2, 2, 2, 2]);
    expect(errors.slice(3)).toEqual([
      'stepops: Idempotency-Key: expected 1 to 255 printable ASCII characters',
      'stepops: give either --stage or --local, not both',
      'stepops: deploy needs --ref <ref> (a branch, tag or commit)',
    ]);
    expect(errors[0]).toMatch(/^stepops: ref: expected a branch, tag or commit/);
    expect(errors[1]).toMatch(/runs on local hosts/);
    expect(errors[2]).toMatch(/^stepops: unknown target "nope" \(known targets: /);
    expect(sfn.mock.calls()).toHaveLength(0);
  });

  it('exits 1 without starting when a deploy of the target is running', async () => {
    // Prepare
    sfn.addExecution({
      stage: 'prod',
      name: 'api-server-1111111111111111',
      input: { target: 'api-server', ref: 'v2' },
      history: new HistoryBuilder(new Date()).started({}).running,
    });
    sfn.onStart([], undefined);

    // Act
    const code = await deploy('api-server', { ref: 'v3', stage: 'prod' }, { sfn: sfn.client, output, env });

    // Assess
    expect(code).toBe(1);
    expect(errors).toEqual([
      'stepops: a deploy of "api-server" is already running: api-server-1111111111111111',
    ]);
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('names the stages that exist when the stage does not, and exits 2', async () => {
    // Act
    const code = await exitOf(
      deploy('api-server', { ref: 'v3', stage: 'qa' }, { sfn: sfn.client, output, env }),
    );

    // Assess
    expect(code).toBe(2);
    expect(errors).toEqual(['stepops: no stage "qa" in eu-west-1: stages found: prod, staging']);
  });

  it('says which variables to set without credentials, and exits 2', async () => {
    // Prepare
    sfn.mock.reset();
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    sfn.mock.rejects(missing);

    // Act
    const code = await exitOf(status(undefined, { stage: 'prod' }, { sfn: sfn.client, output, env }));

    // Assess
    expect(code).toBe(2);
    expect(errors[0]).toMatch(
      /^stepops: no usable AWS credentials \(CredentialsProviderError\): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION$/,
    );
  });
});

describe('follow --stage', () => {
  it('backs off while a run is quiet and detaches on Ctrl-C without stopping it', async () => {
    // Prepare: a run stuck in a long task: one page of events, then nothing new
    const builder = new HistoryBuilder(new Date())
      .started({ target: 'api-server', ref: 'v3' })
      .task('PlanDeploy', 'plan-deploy');
    builder.add('TaskStateEntered', { stateEnteredEventDetails: { name: 'AcquireLock', input: '{}' } });
    sfn.addExecution({
      stage: 'prod',
      name: 'api-server-2222222222222222',
      input: { target: 'api-server', ref: 'v3' },
      history: builder.running,
      step: 100,
    });
    const controller = new AbortController();
    let clock = Date.now();
    const quiet = async (ms: number) => {
      waits.push(ms);
      clock += 40_000;
      if (waits.length === 4) controller.abort();
    };

    // Act
    const code = await follow(
      'api-server-2222222222222222',
      { stage: 'prod' },
      { sfn: sfn.client, output, sleep: quiet, signal: controller.signal, env, now: () => clock },
    );

    // Assess
    expect(code).toBe(130);
    expect(waits).toEqual([1000, 1500, 2250, 3375]);
    expect(lines).toContain('  ▸ AcquireLock');
    // Quiet for over a minute: one line says it is alive, and where.
    expect(lines.filter((l) => l.startsWith('  … still running in AcquireLock ('))).toHaveLength(1);
    expect(errors.join('\n')).toContain(
      'stepops: detached from api-server-2222222222222222: the run goes on (attach again: stepops follow api-server-2222222222222222 --stage prod)',
    );
    expect(sfn.mock.commandCalls(StopExecutionCommand)).toHaveLength(0);
  });

  it('prints the timeline of a finished run at once and exits as the run ended', async () => {
    // Prepare
    const events = new HistoryBuilder(new Date('2026-11-22T03:00:00Z'))
      .started({ target: 'api-server', ref: 'v2' })
      .task('PlanDeploy', 'plan-deploy')
      .task('Notify', 'notify', { output: { outcome: 'succeeded', summary: 'deployed' } })
      .flow('Choice', 'RunSucceeded')
      .flow('Succeed', 'Succeeded')
      .succeeded({ outcome: 'succeeded' });
    sfn.addExecution({
      stage: 'prod',
      name: 'api-server-3333333333333333',
      input: { target: 'api-server', ref: 'v2' },
      history: events,
      status: 'SUCCEEDED',
    });

    // Act
    const code = await follow(
      'api-server-3333333333333333',
      { stage: 'prod' },
      { sfn: sfn.client, output, sleep, env },
    );
    const unknown = await exitOf(
      follow('api-server-9999999999999999', { stage: 'prod' }, { sfn: sfn.client, output, sleep, env }),
    );

    // Assess
    expect(code).toBe(0);
    expect(waits).toEqual([]);
    expect(lines).toContain('✔ deploy of api-server at v2 succeeded in 660 ms');
    expect(lines.some((l) => l.includes('run api-server-3333333333333333 · SUCCEEDED'))).toBe(true);
    expect(unknown).toBe(2);
    expect(errors.at(-1)).toBe('stepops: no run "api-server-9999999999999999" on stage prod');
  });
});

function pastDeploy(
  name: string,
  ref: string,
  status: 'SUCCEEDED' | 'FAILED',
  minutesAgo: number,
  requestedBy = 'github:octocat',
) {
  const start = new Date(Date.now() - minutesAgo * 60_000);
  const b = new HistoryBuilder(start)
    .started({ target: 'api-server', ref })
    .task('PlanDeploy', 'plan-deploy');
  const events = status === 'SUCCEEDED' ? b.succeeded({}) : b.failed('DeployFailedError', 'rolled back');
  sfn.addExecution({
    stage: 'prod',
    name,
    input: { target: 'api-server', ref, reason: `push of ${ref}`, requestedBy },
    history: events,
    status,
    ...(status === 'FAILED' ? { end: { status, error: 'DeployFailedError', cause: 'rolled back' } } : {}),
    startDate: start,
  });
}

describe('history and status --stage', () => {
  it('lists a target’s runs newest first across ListExecutions pages, with ref, reason and who', async () => {
    // Prepare: five runs of api-server and one of another target, two per page
    pastDeploy('api-server-aaaaaaaaaaaaaaa1', 'v1', 'SUCCEEDED', 300);
    pastDeploy('api-server-aaaaaaaaaaaaaaa2', 'v2', 'SUCCEEDED', 200);
    pastDeploy('other-app-aaaaaaaaaaaaaaa3', 'v9', 'SUCCEEDED', 150);
    sfn.addExecution({
      stage: 'prod',
      name: 'api-server-eu-aaaaaaaaaaaaaaa6',
      input: { target: 'api-server-eu', ref: 'v7' },
      history: new HistoryBuilder(new Date(Date.now() - 120 * 60_000)).started({}).succeeded({}),
      status: 'SUCCEEDED',
      startDate: new Date(Date.now() - 120 * 60_000),
    });
    pastDeploy('api-server-aaaaaaaaaaaaaaa4', 'v3', 'FAILED', 100);
    pastDeploy('api-server-aaaaaaaaaaaaaaa5', 'v2', 'SUCCEEDED', 50);

    // Act
    const code = await history(
      'api-server',
      { stage: 'prod', limit: 3 },
      { sfn: sfn.client, output, env, isTTY: false },
    );

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toBe('deploy runs of api-server (stage prod), newest first');
    expect(lines[1]).toMatch(/^RUN\s+OUTCOME\s+STARTED\s+DURATION\s+REF\s+REASON\s+BY$/);
    expect(lines.slice(2).map((l) => l.split(/\s{2,}/)[0])).toEqual([
      'api-server-aaaaaaaaaaaaaaa5',
      'api-server-aaaaaaaaaaaaaaa4',
      'api-server-aaaaaaaaaaaaaaa2',
    ]);
    expect(lines[3]).toMatch(
      /FAILED DeployFailedError\s+1 h ago\s+0\.\d s\s+v3\s+push of v3\s+github:octocat$/,
    );
    // Columns line up: every row's second column starts where the header's does.
    const column = lines[1]!.indexOf('OUTCOME');
    for (const row of lines.slice(2)) expect(row.slice(column - 2, column)).toBe('  ');
    expect(lines.join('\n')).not.toContain('\u001b[');
  });

  it('prints the same runs as JSON with --json', async () => {
    // Prepare
    pastDeploy('api-server-bbbbbbbbbbbbbbb1', 'v4', 'SUCCEEDED', 10);

    // Act
    await history('api-server', { stage: 'prod', json: true }, { sfn: sfn.client, output, env });

    // Assess
    expect(JSON.parse(lines.join('\n'))).toMatchObject({
      where: 'prod',
      workflow: 'deploy',
      runs: [
        {
          runId: 'api-server-bbbbbbbbbbbbbbb1',
          status: 'SUCCEEDED',
          ref: 'v4',
          requestedBy: 'github:octocat',
        },
      ],
    });
  });

  it("reads each backup's newest good copy from the stage's catalogue table, page after page", async () => {
    // Prepare: the target index returns newest first, over two pages; the newest copy failed
    registerTarget(shopWithSnapshots({ rpoHours: 26 }));
    const item = (runId: string, startedAt: string, outcome: string) => {
      const entry = {
        target: 'shop',
        backup: 'db',
        runId,
        kind: 'rds-snapshot',
        location: `rds:eu-west-1:stepops-${runId}`,
        resources: [{ id: `stepops-${runId}`, region: 'eu-west-1' }],
        startedAt,
        finishedAt: startedAt,
        outcome,
      };
      return {
        job: { S: 'shop#db' },
        runId: { S: runId },
        target: { S: 'shop' },
        startedAt: { S: startedAt },
        outcome: { S: outcome },
        entry: { S: JSON.stringify(entry) },
      };
    };
    const now = Date.now();
    const hoursAgo = (h: number) => new Date(now - h * 3_600_000).toISOString();
    dynamo
      .on(QueryCommand)
      .resolvesOnce({
        Items: [item('shop-0000000000000003', hoursAgo(1), 'failed')],
        LastEvaluatedKey: { job: { S: 'shop#db' }, runId: { S: 'shop-0000000000000003' } },
      })
      .resolvesOnce({ Items: [item('shop-0000000000000002', hoursAgo(20), 'good')] });

    // Act
    await status(
      'shop',
      { stage: 'prod' },
      {
        sfn: sfn.client,
        output,
        env: { ...env, STEPOPS_BACKUP_TABLE: 'stepops-prod-backups' },
        isTTY: false,
      },
    );
    const text = lines.join('\n');

    // Assess
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(2);
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'stepops-prod-backups',
      IndexName: 'byTarget',
      ExpressionAttributeValues: { ':target': { S: 'shop' } },
    });
    expect(dynamo.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual({
      job: { S: 'shop#db' },
      runId: { S: 'shop-0000000000000003' },
    });
    expect(text).toMatch(/shop\s+db\s+20 h ago\s+rds:eu-west-1:stepops-shop-0000000000000002/);
    expect(text).toMatch(
      /shop\s+backup db\s+cron\(0 3 \* \* \? \*\)\s+in \d+ (h|min|s) \(\d{4}-\d\d-\d\d 03:00 UTC\)/,
    );
    expect(text).not.toContain('STEPOPS_BACKUP_TABLE');
  });

  it("reads the lock and the probe states from the stage's state table, named after the stage", async () => {
    // Prepare: a run holds the lease; one probe is down
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    const probes = {
      up: {
        probe: 'up',
        status: 'down',
        since: new Date(Date.now() - 120_000).toISOString(),
        lastDetail: 'connection refused',
        lastAt: new Date().toISOString(),
      },
    };
    dynamo.on(GetItemCommand, { Key: { pk: { S: 'lease#target:api-server' } } }).resolves({
      Item: { owner: { S: 'api-server-00000000000000aa' }, expiresAt: { N: String(expiresAt) } },
    });
    dynamo
      .on(GetItemCommand, { Key: { pk: { S: 'health#api-server' } } })
      .resolves({ Item: { version: { N: '3' }, body: { S: JSON.stringify({ probes }) } } });

    // Act
    await status('api-server', { stage: 'prod' }, { sfn: sfn.client, output, env, isTTY: false });
    const text = lines.join('\n');

    // Assess
    const tables = dynamo.commandCalls(GetItemCommand).map((c) => c.args[0].input.TableName);
    expect(new Set(tables)).toEqual(new Set(['stepops-prod-state']));
    expect(text).toMatch(/api-server\s+deploy\s+—\s+never run\s+held by api-server-00000000000000aa until /);
    expect(text).toMatch(/api-server\s+up\s+down\s+2 min ago\s+just now: connection refused/);
    expect(text).not.toContain('could not be read');
  });

  it('names the variable to set when the catalogue table of the stage is not known', async () => {
    // Prepare
    registerTarget(shopWithSnapshots());

    // Act
    await status('shop', { stage: 'prod' }, { sfn: sfn.client, output, env, isTTY: false });

    // Assess
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
    expect(lines.join('\n')).toContain(
      "(newest good backups: set STEPOPS_BACKUP_TABLE to the stage's backup catalogue table to read them)",
    );
  });

  it('shows the running and the last run of each target', async () => {
    // Prepare
    pastDeploy('api-server-ccccccccccccccc1', 'v5', 'SUCCEEDED', 30);
    sfn.addExecution({
      stage: 'prod',
      name: 'api-server-ccccccccccccccc2',
      input: { target: 'api-server', ref: 'v6' },
      history: new HistoryBuilder(new Date(Date.now() - 60_000)).started({}).running,
      startDate: new Date(Date.now() - 60_000),
    });

    // Act
    await status('api-server', { stage: 'prod', json: true }, { sfn: sfn.client, output, env });

    // Assess
    expect(JSON.parse(lines.join('\n'))).toMatchObject({
      where: 'prod',
      workflows: [
        {
          target: 'api-server',
          workflow: 'deploy',
          running: { runId: 'api-server-ccccccccccccccc2', ref: 'v6' },
          last: { runId: 'api-server-ccccccccccccccc1', status: 'SUCCEEDED', ref: 'v5' },
        },
      ],
      leases: {},
    });
  });
});

describe('logs --stage', () => {
  it('prints each command step with its hosts and the tail of their output read from SSM', async () => {
    // Prepare: batch 1 of two hosts succeeded; the SSM output of one host ends with the line that matters
    const hosts = [
      { kind: 'ec2', id: 'i-0a11111111111111a', region: 'eu-west-1' },
      { kind: 'ec2', id: 'i-0b22222222222222b', region: 'eu-west-1' },
    ];
    const b = new HistoryBuilder(new Date('2026-11-22T03:00:00Z')).started({
      target: 'api-server',
      ref: 'v3',
    });
    b.mapStarted('DeployBatches', 1).iteration('DeployBatches', 0, 'Started');
    b.task('SendDeployCommand', 'send-command', {
      output: { command: { commandId: 'cmd-0001', phase: 'deploy', hosts, sentAt: '2026-11-22T03:00:01Z' } },
    });
    b.task('WaitForDeploy', 'poll-command', {
      output: {
        command: { commandId: 'cmd-0001' },
        commandStatus: {
          status: 'succeeded',
          phase: 'deploy',
          commandId: 'cmd-0001',
          total: 2,
          done: 2,
          failedCount: 0,
          allowedErrors: 0,
          failures: [],
          polls: 3,
        },
      },
    });
    b.iteration('DeployBatches', 0, 'Succeeded').mapEnded('DeployBatches', 'Succeeded');
    sfn.addExecution({
      stage: 'prod',
      name: 'api-server-ddddddddddddddd1',
      input: { target: 'api-server', ref: 'v3' },
      history: b.succeeded({}),
      status: 'SUCCEEDED',
    });
    // SSM lists the command as finished on both hosts, then answers each host's invocation.
    ssm.on(ListCommandsCommand).resolves({
      Commands: [{ CommandId: 'cmd-0001', Status: 'Success', TargetCount: 2, CompletedCount: 2 }],
    });
    ssm.on(GetCommandInvocationCommand).callsFake(({ InstanceId }: { InstanceId: string }) => ({
      CommandId: 'cmd-0001',
      InstanceId,
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: `${'building…\n'.repeat(40)}==> step 3/3: restart ${InstanceId}\n`,
      StandardErrorContent: '',
    }));

    // Act
    const code = await logs(
      'api-server-ddddddddddddddd1',
      { stage: 'prod', lines: 2 },
      { sfn: sfn.client, output, env },
    );

    // Assess
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toContain('deploy batch 1: command cmd-0001 (SendDeployCommand)');
    expect(text).toContain('  i-0a11111111111111a  succeeded (exit 0)');
    expect(text).toContain('    ==> step 3/3: restart i-0b22222222222222b');
    expect(text.match(/building…/g)?.length).toBe(2);
    expect(ssm.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input)).toEqual([
      { CommandId: 'cmd-0001', InstanceId: 'i-0a11111111111111a' },
      { CommandId: 'cmd-0001', InstanceId: 'i-0b22222222222222b' },
    ]);
  });
});

describe('logs --stage with command output in CloudWatch Logs', () => {
  it('shows the end of a long output from CloudWatch Logs, which SSM cuts to its first 24,000 characters', async () => {
    // Prepare: a failed build whose error is past SSM's 24,000-character head
    const hosts = [{ kind: 'ec2', id: 'i-0a11111111111111a', region: 'eu-west-1' }];
    const b = new HistoryBuilder(new Date('2026-11-22T03:00:00Z')).started({
      target: 'api-server',
      ref: 'v3',
    });
    b.mapStarted('DeployBatches', 1).iteration('DeployBatches', 0, 'Started');
    b.task('SendDeployCommand', 'send-command', {
      output: { command: { commandId: 'cmd-0002', phase: 'deploy', hosts, sentAt: '2026-11-22T03:00:01Z' } },
    });
    sfn.addExecution({
      stage: 'prod',
      name: 'api-server-ddddddddddddddd2',
      input: { target: 'api-server', ref: 'v3' },
      history: b.failed('DeployFailedError', 'rolled back'),
      status: 'FAILED',
    });
    ssm.on(GetCommandInvocationCommand).resolves({
      CommandId: 'cmd-0002',
      InstanceId: 'i-0a11111111111111a',
      Status: 'Failed',
      StatusDetails: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: 'x'.repeat(24_000),
      StandardErrorContent: '',
    });
    cloudWatch.on(DescribeLogStreamsCommand).resolves({
      logStreams: [
        { logStreamName: 'cmd-0002/i-0a11111111111111a/aws-runShellScript/stdout' },
        { logStreamName: 'cmd-0002/i-0a11111111111111a/aws-runShellScript/stderr' },
      ],
    });
    cloudWatch
      .on(GetLogEventsCommand, { logStreamName: 'cmd-0002/i-0a11111111111111a/aws-runShellScript/stdout' })
      .resolves({
        events: [
          { timestamp: 1, message: 'Step 9/9 : RUN npm run build' },
          { timestamp: 2, message: 'ERROR: build failed' },
        ],
      });
    cloudWatch
      .on(GetLogEventsCommand, { logStreamName: 'cmd-0002/i-0a11111111111111a/aws-runShellScript/stderr' })
      .resolves({ events: [{ timestamp: 3, message: 'exit status 1' }] });

    // Act
    const code = await logs(
      'api-server-ddddddddddddddd2',
      { stage: 'prod', lines: 5 },
      { sfn: sfn.client, output, env: { ...env, STEPOPS_COMMAND_LOG_GROUP: '/stepops/prod/commands' } },
    );

    // Assess
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toContain('  i-0a11111111111111a  failed (exit 1)');
    expect(text).toContain('    ERROR: build failed\n    [stderr]\n    exit status 1');
    expect(text).not.toContain('xxxxxxxx');
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeLogStreamsCommand, {
      logGroupName: '/stepops/prod/commands',
      logStreamNamePrefix: 'cmd-0002/i-0a11111111111111a/',
    });
    expect(cloudWatch).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/stepops/prod/commands',
      logStreamName: 'cmd-0002/i-0a11111111111111a/aws-runShellScript/stdout',
      startFromHead: false,
      limit: 5,
    });
  });
});

describe('rollback --stage', () => {
  it('deploys the ref of the last good deploy before the current one, with --yes', async () => {
    // Prepare: v1 ok, v2 ok, v3 failed, v2 ok again (current): roll back to v1
    pastDeploy('api-server-eeeeeeeeeeeeeee1', 'v1', 'SUCCEEDED', 400);
    pastDeploy('api-server-eeeeeeeeeeeeeee2', 'v2', 'SUCCEEDED', 300);
    pastDeploy('api-server-eeeeeeeeeeeeeee3', 'v3', 'FAILED', 200);
    pastDeploy('api-server-eeeeeeeeeeeeeee4', 'v2', 'SUCCEEDED', 100);
    sfn.onStart([], undefined);

    // Act
    const code = await rollback(
      'api-server',
      { stage: 'prod', yes: true, follow: false },
      { sfn: sfn.client, output, env },
    );

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^current:\s+v2\s+\(api-server-eeeeeeeeeeeeeee4, 1 h ago\)$/);
    expect(lines[1]).toMatch(/^roll back to: v1\s+\(api-server-eeeeeeeeeeeeeee1, 6 h ago\)$/);
    const input = JSON.parse(sfn.mock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(input).toMatchObject({ target: 'api-server', ref: 'v1', reason: 'rollback from v2 to v1' });
  });

  it('asks first and starts nothing when the answer is no, or when it cannot ask', async () => {
    // Prepare
    pastDeploy('api-server-fffffffffffffff1', 'v1', 'SUCCEEDED', 400);
    pastDeploy('api-server-fffffffffffffff2', 'v2', 'SUCCEEDED', 100);
    sfn.onStart([], undefined);
    const asked: string[] = [];

    // Act
    const declined = await rollback(
      'api-server',
      { stage: 'prod' },
      {
        sfn: sfn.client,
        output,
        env,
        confirm: async (q) => {
          asked.push(q);
          return false;
        },
      },
    );
    const noTerminal = await exitOf(
      rollback('api-server', { stage: 'prod' }, { sfn: sfn.client, output, env, confirm: undefined }),
    );

    // Assess
    expect(declined).toBe(0);
    expect(asked).toEqual(['deploy v1 to api-server on stage prod?']);
    expect(lines).toContain('not rolled back');
    expect(noTerminal).toBe(2);
    expect(errors.at(-1)).toBe('stepops: rollback asks to confirm: run it on a terminal, or pass --yes');
    expect(sfn.mock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses with exit 2 when there is no earlier good deploy', async () => {
    // Prepare
    pastDeploy('api-server-9999999999999991', 'v1', 'SUCCEEDED', 100);

    // Act
    const code = await exitOf(
      rollback('api-server', { stage: 'prod', yes: true }, { sfn: sfn.client, output, env }),
    );

    // Assess
    expect(code).toBe(2);
    expect(errors.at(-1)).toMatch(/no successful deploy of api-server on stage prod before v1/);
  });
});

describe('the CLI on a stage', () => {
  it("talks to Step Functions in the stages' region: STEPOPS_REGION, else the stacks' default", async () => {
    // Act
    const named = await sfnClient({ STEPOPS_REGION: 'us-east-1', AWS_REGION: 'ap-south-1' }).config.region();
    const unnamed = await sfnClient({ AWS_REGION: 'ap-south-1' }).config.region();

    // Assess: AWS_REGION is where the SDK would look, but the stages are not there
    expect(named).toBe('us-east-1');
    expect(unnamed).toBe('eu-west-1');
  });
});
