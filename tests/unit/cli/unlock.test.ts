/**
 * `stepops unlock <target>`: shows who holds the lease, asks, and releases it; refuses without a
 * terminal unless --yes; for an ec2 target, acts on the stage's DynamoDB lease.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { unlock } from '../../../cli/commands/unlock.ts';
import type { Output } from '../../../cli/output.ts';
import { recordLocalRun } from '../../../cli/runs/local.ts';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import { FileLeaseStore } from '../../../shared/drivers/local/file-lease-store.ts';

const dynamo = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);

/** Records a local run under `home` as the process `pid` ran it, still RUNNING in its record. */
async function runRecord(home: string, runId: string, pid: number): Promise<void> {
  await mkdir(path.join(home, 'runs', runId), { recursive: true });
  await writeFile(
    path.join(home, 'runs', runId, 'run.json'),
    JSON.stringify({
      runId,
      workflow: 'deploy',
      status: 'RUNNING',
      target: 'stuck-app',
      startedAt: new Date().toISOString(),
      where: 'local',
      pid,
    }),
  );
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync('true');
  return child.pid as number;
}
const inAnHour = Math.floor(Date.now() / 1000) + 3600;
const NOW = (inAnHour - 3600) * 1000;

function capture(): Output & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node'),
      [path.join(PROJECT_ROOT, 'cli', 'stepops.ts'), ...args],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CI: '1', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c) => {
      output += c;
    });
    child.stderr.on('data', (c) => {
      output += c;
    });
    child.stdin.end();
    child.once('close', (code) => resolve({ code, output }));
  });
}

let root: string;
const saved = { ...process.env };
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-unlock-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  dynamo.reset();
  sfn.reset();
});
afterEach(() => {
  clearRegisteredTargets();
  process.env = { ...saved };
});

describe('stepops unlock of a local target (a real process)', () => {
  it('refuses without a terminal and without --yes (exit 2), then releases with --yes', async () => {
    // Prepare
    const home = path.join(root, 'cli-home');
    const file = path.join(root, 'stuck-app.ts');
    await writeFile(
      file,
      `export default { name: 'stuck-app', description: 'x', hosts: { type: 'local', directory: '${root}/host' } };\n`,
    );
    await new FileLeaseStore({ home: () => home }).acquire('target:stuck-app', 'run-that-died', 3600);
    await runRecord(home, 'run-that-died', deadPid());
    const lease = path.join(home, 'leases', 'target_stuck-app.json');

    // Act
    const refused = await cli(['unlock', file], { STEPOPS_HOME: home });
    const kept = existsSync(lease);
    const released = await cli(['unlock', file, '--yes'], { STEPOPS_HOME: home });

    // Assess
    expect(refused.code, refused.output).toBe(2);
    expect(refused.output).toMatch(/lease target:stuck-app in .*: held by run-that-died until /);
    expect(refused.output).toContain('stepops: not releasing the lease without confirmation');
    expect(kept).toBe(true);
    expect(released.code, released.output).toBe(0);
    expect(released.output).toContain('released the lease target:stuck-app (was held by run-that-died)');
    expect(existsSync(lease)).toBe(false);
  }, 60_000);
});

describe('unlock', () => {
  const local = { name: 'app', description: 'an app', hosts: { type: 'local' as const, directory: 'x' } };

  it('asks on a terminal and releases on "y", keeps the lease on anything else', async () => {
    // Prepare
    process.env.STEPOPS_HOME = path.join(root, 'ask-home');
    registerTarget(local);
    const leases = new FileLeaseStore();
    await leases.acquire('target:app', 'run-7', 3600);
    recordLocalRun('deploy', { target: 'app', runId: 'run-7' }).finish({ status: 'FAILED', error: 'X' });
    const questions: string[] = [];
    const declined = capture();
    const accepted = capture();

    // Act
    const no = await unlock('app', {
      output: declined,
      interactive: true,
      ask: async (q) => {
        questions.push(q);
        return 'n';
      },
    });
    const stillHeld = await leases.holder('target:app');
    const yes = await unlock('app', { output: accepted, interactive: true, ask: async () => 'y' });

    // Assess
    expect(no).toBe(1);
    expect(declined.text()).toContain('left as it is');
    expect(questions[0]).toMatch(/^release it\? .*\[y\/N\] $/);
    expect(stillHeld?.owner).toBe('run-7');
    expect(yes).toBe(0);
    expect(await leases.holder('target:app')).toBeUndefined();
  });

  it('says so when the target is not locked', async () => {
    // Prepare
    process.env.STEPOPS_HOME = path.join(root, 'free-home');
    registerTarget(local);
    const output = capture();

    // Act
    const code = await unlock('app', { output, interactive: false });

    // Assess
    expect(code).toBe(0);
    expect(output.text()).toMatch(/^app is not locked \(no lease target:app in /);
  });

  it("releases an ec2 target's lease in the stage's DynamoDB table, only if the shown holder still holds it", async () => {
    // Prepare
    registerTarget({
      ...local,
      name: 'web',
      hosts: { type: 'ec2', region: 'us-east-1', tags: { App: 'web' }, workingDirectory: '/opt/web' },
    });
    dynamo
      .on(DescribeTableCommand)
      .resolves({ Table: { TableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/stepops-prod-state' } });
    const item = {
      pk: { S: 'lease#target:web' },
      owner: { S: 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:web-1' },
      expiresAt: { N: String(inAnHour) },
    };
    dynamo.on(GetItemCommand).resolvesOnce({ Item: item }).resolves({});
    dynamo.on(DeleteItemCommand).resolves({});
    sfn.on(DescribeExecutionCommand, { executionArn: item.owner.S }).resolves({ status: 'FAILED' });
    const output = capture();

    // Act
    const code = await unlock('web', {
      yes: true,
      stage: 'prod',
      output,
      now: () => NOW,
      stageOptions: { env: {}, credentials: async () => ({}) },
    });

    // Assess
    expect(code, output.text()).toBe(0);
    expect(output.text()).toContain(
      `lease target:web in DynamoDB stepops-prod-state (eu-west-1): held by arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:web-1 until ${new Date(inAnHour * 1000).toISOString()} (60 min left)`,
    );
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'stepops-prod-state',
      Key: { pk: { S: 'lease#target:web' } },
      ConsistentRead: true,
    });
    expect(dynamo).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 'stepops-prod-state',
      Key: { pk: { S: 'lease#target:web' } },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeValues: { ':owner': item.owner },
    });
  });

  it('exits 2 for an ec2 target when no stage is named', async () => {
    // Prepare
    registerTarget({
      ...local,
      name: 'web',
      hosts: { type: 'ec2', region: 'us-east-1', tags: { App: 'web' }, workingDirectory: '/opt/web' },
    });
    const output = capture();

    // Act
    const code = await unlock('web', {
      yes: true,
      output,
      stageOptions: { env: {}, credentials: async () => ({}) },
    });

    // Assess
    expect(code).toBe(2);
    expect(output.text()).toContain('name the stage with --stage <stage>');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('refuses to release the lease of a local run whose process still runs, unless --force', async () => {
    // Prepare: the run holding the lease is this very process
    const home = path.join(root, 'live-home');
    process.env.STEPOPS_HOME = home;
    registerTarget(local);
    const leases = new FileLeaseStore();
    await leases.acquire('target:app', 'app-live-run', 3600);
    await runRecord(home, 'app-live-run', process.pid);
    const refused = capture();
    const forced = capture();

    // Act
    const code = await unlock('app', { yes: true, output: refused });
    const kept = await leases.holder('target:app');
    const forcedCode = await unlock('app', { yes: true, force: true, output: forced });

    // Assess
    expect(code).toBe(1);
    expect(refused.text()).toContain(
      'stepops: run app-live-run still runs (this machine) and holds the lease',
    );
    expect(kept?.owner).toBe('app-live-run');
    expect(forcedCode).toBe(0);
    expect(forced.text()).toContain('released the lease target:app (was held by app-live-run)');
    expect(await leases.holder('target:app')).toBeUndefined();
  });

  it('refuses to release a lease whose run cannot be found, unless --force', async () => {
    // Prepare
    process.env.STEPOPS_HOME = path.join(root, 'unknown-home');
    registerTarget(local);
    const leases = new FileLeaseStore();
    await leases.acquire('target:app', 'run-from-elsewhere', 3600);
    const output = capture();

    // Act
    const code = await unlock('app', { yes: true, output });

    // Assess
    expect(code).toBe(1);
    expect(output.text()).toContain('cannot tell whether run run-from-elsewhere still runs');
    expect((await leases.holder('target:app'))?.owner).toBe('run-from-elsewhere');
  });

  it("refuses to release an ec2 target's lease while its execution on the stage is RUNNING", async () => {
    // Prepare
    registerTarget({
      ...local,
      name: 'web',
      hosts: { type: 'ec2', region: 'us-east-1', tags: { App: 'web' }, workingDirectory: '/opt/web' },
    });
    dynamo
      .on(DescribeTableCommand)
      .resolves({ Table: { TableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/stepops-prod-state' } });
    const owner = 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-deploy:web-2';
    dynamo.on(GetItemCommand).resolves({
      Item: { pk: { S: 'lease#target:web' }, owner: { S: owner }, expiresAt: { N: String(inAnHour) } },
    });
    sfn.on(DescribeExecutionCommand, { executionArn: owner }).resolves({ status: 'RUNNING' });
    const output = capture();

    // Act
    const code = await unlock('web', {
      yes: true,
      stage: 'prod',
      output,
      now: () => NOW,
      stageOptions: { env: {}, credentials: async () => ({}) },
    });

    // Assess
    expect(code).toBe(1);
    expect(output.text()).toContain(`stepops: run ${owner} still runs (its stage)`);
    expect(dynamo).not.toHaveReceivedCommand(DeleteItemCommand);
  });
});
