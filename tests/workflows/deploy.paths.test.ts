/**
 * Every path of the deploy workflow on the local engine, with the real handlers and the real local
 * drivers (bash in temporary host directories, the file lease store, the outbox, HTTP probes against
 * a server on 127.0.0.1). Fakes appear only where a failure must be injected.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createLocalDeployEngine, HANDLERS, LOCAL_DEPLOY_ARNS } from '../../functions/index.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import type {
  ClaimHostsInput,
  CreateSnapshotsInput,
  PollCommandInput,
  SendCommandInput,
} from '../../shared/deploy/contracts.ts';
import { type DeployDeps, defaultDeployDeps } from '../../shared/deploy/deps.ts';
import { claimHostsStep } from '../../shared/deploy/steps/claim-hosts.ts';
import { createSnapshotsStep } from '../../shared/deploy/steps/create-snapshots.ts';
import { pollCommandStep } from '../../shared/deploy/steps/poll-command.ts';
import { sendCommandStep } from '../../shared/deploy/steps/send-command.ts';
import type { Drivers } from '../../shared/drivers/index.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import { LocalHostDirectory } from '../../shared/drivers/local/local-host-directory.ts';
import type { HostDirectory, Lease, Notification, SnapshotService } from '../../shared/drivers/ports.ts';
import {
  formatTimeline,
  type LambdaHandler,
  type LocalEngine,
  type RunResult,
} from '../../shared/engine/index.ts';
import { ERROR_MESSAGE_BUDGET, ERROR_TRACE_FRAMES, SnapshotFailedError } from '../../shared/errors.ts';
import { targetLeaseKey } from '../../shared/lease-keys.ts';
import type { DeployFunction } from '../../workflows/deploy.ts';
import { createLab, type Lab } from './fixtures.ts';

let lab: Lab;
let engine: LocalEngine;

beforeAll(async () => {
  lab = await createLab();
  engine = createLocalDeployEngine();
});
afterAll(async () => {
  clearRegisteredTargets();
  await lab?.close();
});

/** Top-level states entered, in order. */
function entered(result: RunResult): string[] {
  return result.trace.events
    .filter((e) => e.kind === 'state-entered' && e.depth === 0)
    .map((e) => e.state as string);
}

/** States entered inside the batches, as `[batch] State`. */
function enteredInBatches(result: RunResult): string[] {
  return result.trace.events
    .filter((e) => e.kind === 'state-entered' && e.depth === 1)
    .map((e) => `[${e.iteration}] ${e.state}`);
}

async function notificationsOf(runId: string): Promise<Notification[]> {
  return (await lab.notifications()).filter((n) => n.runId === runId);
}

async function run(
  input: unknown,
  runId: string,
  overrides: Record<string, LambdaHandler> = {},
): Promise<RunResult> {
  return engine.start(input, {
    executionName: runId,
    handlerOverrides: overrides,
    retryIntervalOverrides: { SendDeployCommand: 0, PlanDeploy: 0 },
  }).result;
}

/** Real dependencies with some drivers replaced (to inject a failure, or an AWS-only capability). */
function depsWith(drivers: Partial<Drivers>): DeployDeps {
  const real = defaultDeployDeps();
  return { ...real, driversFor: (target) => ({ ...real.driversFor(target), ...drivers }) };
}

/** A claim-hosts handler whose host directory is replaced, the rest of its dependencies real (the lease too). */
function claimHostsWith(hosts: HostDirectory): LambdaHandler {
  const deps = depsWith({ hosts });
  return (async (event: ClaimHostsInput) => claimHostsStep(event, deps)) as LambdaHandler;
}

/** Handlers of the steps that use drivers, with some drivers replaced. */
function handlersWith(drivers: Partial<Drivers>): Record<string, LambdaHandler> {
  const deps = depsWith(drivers);
  const handlers: Partial<Record<DeployFunction, LambdaHandler>> = {
    'claim-hosts': (async (event: ClaimHostsInput) => claimHostsStep(event, deps)) as LambdaHandler,
    'create-snapshots': (async (event: CreateSnapshotsInput) =>
      createSnapshotsStep(event, deps)) as LambdaHandler,
    'send-command': (async (event: SendCommandInput) => sendCommandStep(event, deps)) as LambdaHandler,
    'poll-command': (async (event: PollCommandInput, context: Context) =>
      pollCommandStep(event, deps, () => context.getRemainingTimeInMillis())) as LambdaHandler,
  };
  return Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [LOCAL_DEPLOY_ARNS[name as DeployFunction], handler]),
  );
}

const EC2_HOST = { kind: 'ec2' as const, id: 'i-0123456789abcdef0', region: 'eu-west-1' };

/** An ec2 target whose health probe is the lab's server. */
function registerEc2Target(
  name: string,
  snapshotBeforeDeploy: { ebs: boolean; rdsInstance?: string },
): string {
  registerTarget({
    name,
    description: `workflow test ec2 target ${name}`,
    hosts: {
      type: 'ec2',
      region: 'eu-west-1',
      instanceIds: [EC2_HOST.id],
      user: 'ubuntu',
      workingDirectory: '/opt/app',
    },
    deploy: {
      steps: [{ name: 'pull', script: 'git pull', timeout: 60 }],
      rollback: [{ name: 'revert', script: 'git checkout -', timeout: 60 }],
      snapshotBeforeDeploy,
      healthGate: { probes: ['app'], timeout: 5, interval: 1, successes: 1 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'app', type: 'http', url: `http://127.0.0.1:${lab.port}/health/${name}`, timeout: 2 }],
    },
  });
  return name;
}

/** In-memory EC2/SSM drivers: one online instance, commands that succeed at once. */
function fakeEc2Drivers(options: { snapshots: SnapshotService; sent: string[] }): Partial<Drivers> {
  return {
    hosts: { resolve: async () => [EC2_HOST] },
    snapshots: options.snapshots,
    commands: {
      send: async (request) => {
        options.sent.push(request.script);
        return { commandId: `cmd-${options.sent.length}`, hosts: request.hosts };
      },
      status: async (handle) =>
        handle.hosts.map((h) => ({
          hostId: h.id,
          state: 'succeeded' as const,
          exitCode: 0,
          outputTail: 'done',
        })),
    },
  };
}

const READY = ['echo "$STEPOPS_REF" > version', 'echo ok > state'];
const ROLLBACK_OK = ['echo rolled-back > version', 'echo ok > state'];

describe('deploy workflow on the local engine', () => {
  it('succeeds: runs the script on the host, passes the gate, releases the lock and notifies', async () => {
    // Prepare
    const target = await lab.target('wf-success', { steps: READY, rollback: ROLLBACK_OK });

    // Act
    const result = await run({ target, ref: 'v2', reason: 'release', requestedBy: 'test' }, 'run-success');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      outcome: 'succeeded',
      summary: 'deployed v2 to 1 host of wf-success in 1 batch',
    });
    expect(readFileSync(path.join(lab.hostDir(target), 'version'), 'utf8').trim()).toBe('v2');
    expect(entered(result)).toEqual([
      'PlanDeploy',
      'ClaimHosts',
      'VerifyRequested',
      'SnapshotRequested',
      'DeployBatches',
      'Notify',
      'RunSucceeded',
      'Succeeded',
    ]);
    expect(enteredInBatches(result)).toEqual(
      expect.arrayContaining([
        '[0] SendDeployCommand',
        '[0] WaitForDeploy',
        '[0] CheckHealth',
        '[0] BatchDeployed',
      ]),
    );
    expect(result.trace.events.some((e) => e.kind === 'state-caught' || e.kind === 'state-failed')).toBe(
      false,
    );
    expect(result.trace.transitions).toBe(
      result.trace.events.filter((e) => e.kind === 'state-entered').length,
    );
    expect(result.trace.invocations.map((i) => i.functionName)).toEqual(
      expect.arrayContaining([
        'plan-deploy',
        'claim-hosts',
        'send-command',
        'poll-command',
        'check-health',
        'notify',
      ]),
    );
    expect(await notificationsOf('run-success')).toEqual([
      expect.objectContaining({ target, workflow: 'deploy', outcome: 'succeeded', ref: 'v2' }),
    ]);
    const lease = await new FileLeaseStore().acquire(targetLeaseKey(target), 'someone-else', 60);
    expect(lease.acquired).toBe(true);
    expect(formatTimeline(result.trace)).toMatch(
      /SUCCEEDED[\s\S]*\[0\] CheckHealth[\s\S]*state transitions · \d+ Lambda invocations/,
    );
  });

  it('on ec2 hosts, snapshots volumes and database before deploying and records the ids', async () => {
    // Prepare: AWS-only capabilities replaced by in-memory drivers; leases, outbox and probe are real.
    const target = registerEc2Target('wf-ec2', { ebs: true, rdsInstance: 'shop-db' });
    await mkdir(lab.hostDir(target), { recursive: true });
    await writeFile(path.join(lab.hostDir(target), 'state'), 'ok');
    const taken: string[] = [];
    const sent: string[] = [];
    const drivers = fakeEc2Drivers({
      snapshots: {
        snapshotVolumes: async (hosts, tags) => {
          taken.push(`volumes of ${hosts.map((h) => h.id).join(',')} tagged ${tags['stepops:run']}`);
          return ['snap-0123456789abcdef0'];
        },
        snapshotDatabase: async (region, dbInstance) => {
          taken.push(`${dbInstance} in ${region}`);
          return 'stepops-shop-db-1';
        },
      },
      sent,
    });

    // Act
    const result = await run({ target, ref: 'v2' }, 'run-ec2', handlersWith(drivers));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result).slice(0, 6)).toEqual([
      'PlanDeploy',
      'ClaimHosts',
      'VerifyRequested',
      'SnapshotRequested',
      'CreateSnapshots',
      'DeployBatches',
    ]);
    expect(taken).toEqual(['volumes of i-0123456789abcdef0 tagged run-ec2', 'shop-db in eu-west-1']);
    expect(sent).toEqual([expect.stringContaining("cd '/opt/app'")]);
    const exited = result.trace.events.find(
      (e) => e.kind === 'state-exited' && e.state === 'CreateSnapshots',
    );
    expect(exited?.output).toMatchObject({
      snapshots: { volumeSnapshotIds: ['snap-0123456789abcdef0'], dbSnapshotId: 'stepops-shop-db-1' },
    });
    expect(result.output).toMatchObject({
      summary:
        'deployed v2 to 1 host of wf-ec2 in 1 batch, after snapshots snap-0123456789abcdef0, stepops-shop-db-1',
    });
  });

  it('stops before any command when the snapshot fails, releasing the lock and notifying', async () => {
    // Prepare
    const target = registerEc2Target('wf-snapfail', { ebs: true });
    const sent: string[] = [];
    const drivers = fakeEc2Drivers({
      snapshots: {
        snapshotVolumes: async () => {
          throw new SnapshotFailedError('CreateSnapshots: UnauthorizedOperation');
        },
        snapshotDatabase: async () => 'never',
      },
      sent,
    });

    // Act
    const result = await run({ target, ref: 'v2' }, 'run-snapfail', handlersWith(drivers));

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('SnapshotFailedError');
    expect(entered(result)).toEqual([
      'PlanDeploy',
      'ClaimHosts',
      'VerifyRequested',
      'SnapshotRequested',
      'CreateSnapshots',
      'Notify',
      'RunSucceeded',
      'Failed',
    ]);
    expect(sent).toEqual([]);
    expect((await new FileLeaseStore().acquire(targetLeaseKey(target), 'after', 60)).acquired).toBe(true);
    expect(await notificationsOf('run-snapfail')).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        error: 'SnapshotFailedError',
        failedState: 'CreateSnapshots',
      }),
    ]);
  });

  it('retries a transient Lambda error and then succeeds', async () => {
    // Prepare
    const target = await lab.target('wf-transient', { steps: READY, rollback: ROLLBACK_OK });
    let calls = 0;
    const flaky: LambdaHandler = async (event, context) => {
      calls += 1;
      if (calls === 1) {
        const error = new Error('Lambda is unavailable');
        error.name = 'Lambda.ServiceException';
        throw error;
      }
      return HANDLERS['send-command'](event, context);
    };

    // Act
    const result = await run({ target, ref: 'v3' }, 'run-transient', {
      [LOCAL_DEPLOY_ARNS['send-command']]: flaky,
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    const retried = result.trace.events.filter((e) => e.kind === 'state-retried');
    expect(retried).toEqual([
      expect.objectContaining({ state: 'SendDeployCommand', iteration: 0, attempt: 1 }),
    ]);
    const failed = result.trace.events.find((e) => e.kind === 'state-failed');
    expect(failed).toMatchObject({ state: 'SendDeployCommand', error: 'Lambda.ServiceException' });
    expect(JSON.parse(failed?.cause ?? '')).toMatchObject({ errorType: 'Lambda.ServiceException' });
    expect(
      result.trace.invocations.filter((i) => i.functionName === 'send-command').map((i) => i.ok),
    ).toEqual([false, true]);
    expect(readFileSync(path.join(lab.hostDir(target), 'version'), 'utf8').trim()).toBe('v3');
    expect((await notificationsOf('run-transient')).map((n) => n.outcome)).toEqual(['succeeded']);
  });

  it('sends once when send-command is retried after it sent but its answer was lost', async () => {
    // Prepare: the first invocation really sends, then the invoke times out on the client side.
    const target = await lab.target('wf-idempotent', {
      steps: ['echo ran >> runs', ...READY],
      rollback: ROLLBACK_OK,
    });
    const commandsBefore = await lab.commands();
    let calls = 0;
    const lostAnswer: LambdaHandler = async (event, context) => {
      calls += 1;
      const answer = await HANDLERS['send-command'](event, context);
      if (calls > 1) return answer;
      const error = new Error('the invoke timed out before the function answered');
      error.name = 'Lambda.ClientExecutionTimeoutException';
      throw error;
    };

    // Act
    const result = await run({ target, ref: 'v2' }, 'run-idempotent', {
      [LOCAL_DEPLOY_ARNS['send-command']]: lostAnswer,
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    expect(result.trace.events.filter((e) => e.kind === 'state-retried')).toEqual([
      expect.objectContaining({ state: 'SendDeployCommand', iteration: 0, attempt: 1 }),
    ]);
    expect(readFileSync(path.join(lab.hostDir(target), 'runs'), 'utf8')).toBe('ran\n');
    const started = (await lab.commands()).filter((c) => !commandsBefore.includes(c));
    expect(started).toHaveLength(1);
  });

  it('stops before the next batch when the run lost its lease, and leaves the hosts to the lease holder (rollback-failed alert)', async () => {
    // Prepare: two batches; between them another run takes the lease (this one's expired).
    const target = await lab.target('wf-lease-lost', {
      steps: READY,
      rollback: ROLLBACK_OK,
      batches: { size: 1, maxErrors: 0 },
    });
    const second = path.join(lab.root, 'hosts', 'wf-lease-lost-2');
    await mkdir(second, { recursive: true });
    const leases = new FileLeaseStore();
    const twoHosts = claimHostsWith({
      resolve: async () => [
        { kind: 'local', id: `local:${lab.hostDir(target)}`, directory: lab.hostDir(target) },
        { kind: 'local', id: `local:${second}`, directory: second },
      ],
    });
    let sends = 0;
    const stealAfterFirst: LambdaHandler = async (event, context) => {
      sends += 1;
      if (sends === 2) {
        await leases.release(targetLeaseKey(target), 'run-lease-lost');
        await leases.acquire(targetLeaseKey(target), 'thief-run', 600);
      }
      return HANDLERS['send-command'](event, context);
    };

    // Act
    const result = await run({ target, ref: 'v2' }, 'run-lease-lost', {
      [LOCAL_DEPLOY_ARNS['claim-hosts']]: twoHosts,
      [LOCAL_DEPLOY_ARNS['send-command']]: stealAfterFirst,
    });

    // Assess: batch 2 never ran; the rollback of batch 1 is refused too (the lease is gone).
    expect(result.status).toBe('FAILED');
    expect(existsSync(path.join(second, 'version'))).toBe(false);
    const failed = result.trace.events.find(
      (e) => e.kind === 'state-failed' && e.state === 'SendDeployCommand',
    );
    expect(failed).toMatchObject({ error: 'LeaseLostError', iteration: 1 });
    expect(failed?.cause).toContain('run thief-run holds it');
    expect(result.error).toBe('RollbackFailedError');
    expect((await leases.holder(targetLeaseKey(target)))?.owner).toBe('thief-run');
    await leases.release(targetLeaseKey(target), 'thief-run');
  });

  it("names the run's execution on its lease from ClaimHosts on, and keeps it through each batch's renewal", async () => {
    // Prepare: two local hosts in batches of one; each send notes the lease before and after it renews it
    const target = 'wf-lease-execution';
    const hosts = [lab.hostDir(target), path.join(lab.root, 'hosts', `${target}-2`)];
    for (const dir of hosts) await mkdir(dir, { recursive: true });
    registerTarget({
      name: target,
      description: 'two local hosts, one batch each',
      hosts: { type: 'local', directory: hosts },
      deploy: {
        steps: READY.map((script, i) => ({ name: `step-${i + 1}`, script, timeout: 30 })),
        rollback: ROLLBACK_OK.map((script, i) => ({ name: `rollback-${i + 1}`, script, timeout: 30 })),
        batches: { size: 1, maxErrors: 0 },
        healthGate: { probes: ['app'], timeout: 10, interval: 1, successes: 1 },
      },
      health: {
        schedule: 'rate(5 minutes)',
        probes: [
          { name: 'app', type: 'http', url: `http://127.0.0.1:${lab.port}/health/${target}`, timeout: 2 },
        ],
      },
    });
    const leases = new FileLeaseStore();
    const seen: (Lease | undefined)[] = [];
    const watchingSends: LambdaHandler = async (event, context) => {
      seen.push(await leases.holder(targetLeaseKey(target)));
      const sent = await HANDLERS['send-command'](event, context);
      seen.push(await leases.holder(targetLeaseKey(target)));
      return sent;
    };

    // Act: the real claim-hosts handler takes the lease from the state machine's parameters
    const result = await run({ target, ref: 'v2' }, 'run-lease-execution', {
      [LOCAL_DEPLOY_ARNS['send-command']]: watchingSends,
    });

    // Assess: the local engine's execution ARN, whose name is the run id (a local run's record)
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const execution = 'arn:aws:states:local:000000000000:execution:stepops-deploy:run-lease-execution';
    expect(seen).toHaveLength(4);
    for (const lease of seen) expect(lease).toMatchObject({ owner: 'run-lease-execution', execution });
    expect(await leases.holder(targetLeaseKey(target))).toBeUndefined();
  });

  it('keeps the batches’ collected output small, however many batches (no States.DataLimitExceeded)', async () => {
    // Prepare: 30 batches of 5 hosts, each batch tolerating its 5 failed hosts, each failure with
    // the longest output tail the state keeps: about 10 KB per batch, 300 KB over all the batches.
    const target = await lab.target('wf-many-batches', {
      steps: READY,
      rollback: ROLLBACK_OK,
      batches: { size: 5, maxErrors: '100%' },
    });
    await mkdir(lab.hostDir(target), { recursive: true });
    await writeFile(path.join(lab.hostDir(target), 'state'), 'ok\n');
    const fleet = Array.from({ length: 150 }, (_, i) => ({
      kind: 'local' as const,
      id: `local:fleet-${i}`,
      directory: lab.hostDir(target),
    }));
    let sends = 0;
    const handlers = handlersWith({
      hosts: { resolve: async () => fleet },
      commands: {
        send: async (request) => ({ commandId: `cmd-${++sends}`, hosts: request.hosts }),
        status: async (handle) =>
          handle.hosts.map((h) => ({
            hostId: h.id,
            state: 'failed' as const,
            exitCode: 1,
            outputTail: `${h.id} ${'npm WARN deprecated '.repeat(200)}`,
          })),
      },
    });

    // Act
    const result = await run({ target, ref: 'v2' }, 'run-many-batches', handlers);

    // Assess
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(sends).toBe(30);
    expect(result.output).toMatchObject({
      summary: 'deployed v2 to 150 hosts of wf-many-batches in 30 batches',
    });
  });

  it('rolls back when the command fails, naming the state, the host and the output tail', async () => {
    // Prepare
    const target = await lab.target('wf-command', {
      steps: ['echo "$STEPOPS_REF" > version', 'echo compiling; echo "error: boom in main.go" >&2; exit 3'],
      rollback: ROLLBACK_OK,
    });

    // Act
    const result = await run({ target, ref: 'v4' }, 'run-command');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployFailedError');
    expect(result.cause).toContain('failed state: WaitForDeploy (batch 1 of 1)');
    expect(result.cause).toContain(`host: local:${lab.hostDir(target)}`);
    expect(result.cause).toContain('error: boom in main.go');
    expect(enteredInBatches(result)).toEqual(
      expect.arrayContaining(['[0] RecordCommandFailure', '[0] DescribeBatchFailure', '[0] BatchFailed']),
    );
    expect(enteredInBatches(result)).not.toContain('[0] CheckHealth');
    expect(entered(result)).toEqual([
      'PlanDeploy',
      'ClaimHosts',
      'VerifyRequested',
      'SnapshotRequested',
      'DeployBatches',
      'PlanRollback',
      'RollbackDrainRequested',
      'SendRollbackCommand',
      'WaitForRollback',
      'RollbackCommandDone',
      'CheckHealthAfterRollback',
      'RollbackHealthDone',
      'RollbackRegisterRequested',
      'Notify',
      'RunSucceeded',
      'Failed',
    ]);
    expect(readFileSync(path.join(lab.hostDir(target), 'version'), 'utf8').trim()).toBe('rolled-back');
    const [notification] = await notificationsOf('run-command');
    expect(notification).toMatchObject({
      outcome: 'rolled-back',
      error: 'DeployFailedError',
      failedState: 'WaitForDeploy',
      host: `local:${lab.hostDir(target)}`,
      outputTail: expect.stringContaining('boom in main.go'),
    });
    expect(notification?.summary).toContain(
      'failed its command on batch 1/1 and was rolled back to health on 1 host',
    );
  });

  it('rolls back every host already touched when the gate fails on a later batch, then probes them healthy', async () => {
    // Prepare: three hosts, one per batch; the second deploy breaks the shared health endpoint.
    const target = await lab.target('wf-gate', {
      steps: [
        'echo "$STEPOPS_REF" > version',
        'if [ "$(basename "$PWD")" = h2 ]; then echo broken > ../state; else echo ok > ../state; fi',
      ],
      rollback: ['echo rolled-back > version', 'echo ok > ../state'],
      gateTimeout: 2,
      batches: { size: 1, maxErrors: 0 },
    });
    const hostDirs = ['h1', 'h2', 'h3'].map((h) => path.join(lab.hostDir(target), h));
    await Promise.all(hostDirs.map((d) => mkdir(d, { recursive: true })));
    const directory = new LocalHostDirectory('/');
    const threeHosts: HostDirectory = {
      resolve: async () =>
        (await Promise.all(hostDirs.map((d) => directory.resolve({ type: 'local', directory: d })))).flat(),
    };

    // Act
    const result = await run({ target, ref: 'v5' }, 'run-gate', {
      [LOCAL_DEPLOY_ARNS['claim-hosts']]: claimHostsWith(threeHosts),
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployFailedError');
    const batches = enteredInBatches(result);
    expect(batches).toEqual(
      expect.arrayContaining(['[0] BatchDeployed', '[1] RecordGateFailure', '[1] BatchFailed']),
    );
    expect(batches.some((s) => s.startsWith('[2]'))).toBe(false);
    expect(readFileSync(path.join(hostDirs[0] as string, 'version'), 'utf8').trim()).toBe('rolled-back');
    expect(readFileSync(path.join(hostDirs[1] as string, 'version'), 'utf8').trim()).toBe('rolled-back');
    expect(existsSync(path.join(hostDirs[2] as string, 'version'))).toBe(false);
    const rollbackGate = result.trace.events.find(
      (e) => e.kind === 'state-exited' && e.state === 'CheckHealthAfterRollback',
    );
    expect(rollbackGate?.output).toMatchObject({
      rollback: {
        hosts: [{ id: `local:${hostDirs[0]}` }, { id: `local:${hostDirs[1]}` }],
        gate: { status: 'healthy' },
      },
    });
    expect(result.cause).toContain('failed state: CheckHealth (batch 2 of 3)');
    const [notification] = await notificationsOf('run-gate');
    expect(notification).toMatchObject({
      outcome: 'rolled-back',
      error: 'DeployFailedError',
      failedState: 'CheckHealth',
    });
    expect(notification?.summary).toContain(
      'failed the health gate on batch 2/3 and was rolled back to health on 2 hosts',
    );
    expect(notification?.cause).toContain('app: ');
  });

  it('ends with RollbackFailedError when the rollback fails', async () => {
    // Prepare
    const target = await lab.target('wf-rollback', {
      steps: ['echo broken > state'],
      rollback: ['echo "cannot restore the previous build" >&2; exit 4'],
      gateTimeout: 2,
    });

    // Act
    const result = await run({ target, ref: 'v6' }, 'run-rollback');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RollbackFailedError');
    expect(entered(result)).toEqual(
      expect.arrayContaining([
        'PlanRollback',
        'SendRollbackCommand',
        'RecordRollbackCommandFailure',
        'Notify',
        'Failed',
      ]),
    );
    expect(entered(result)).not.toContain('CheckHealthAfterRollback');
    expect(result.cause).toContain('rollback failed state: WaitForRollback');
    expect(result.cause).toContain('deploy failed state: CheckHealth (batch 1 of 1)');
    const [notification] = await notificationsOf('run-rollback');
    expect(notification).toMatchObject({
      outcome: 'rollback-failed',
      error: 'RollbackFailedError',
      failedState: 'WaitForRollback',
      host: `local:${lab.hostDir(target)}`,
      outputTail: expect.stringContaining('cannot restore the previous build'),
    });
    expect((await new FileLeaseStore().acquire(targetLeaseKey(target), 'after', 60)).acquired).toBe(true);
  });

  it('fails fast with TargetLockedError when another run holds the lock, and leaves that lock alone', async () => {
    // Prepare
    const target = await lab.target('wf-locked', { steps: READY, rollback: ROLLBACK_OK });
    const leases = new FileLeaseStore();
    expect((await leases.acquire(targetLeaseKey(target), 'other-run', 600)).acquired).toBe(true);
    const commandsBefore = await lab.commands();

    // Act
    const result = await run({ target, ref: 'v2' }, 'run-locked');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TargetLockedError');
    expect(result.cause).toContain('locked by run other-run');
    expect(entered(result)).toEqual(['PlanDeploy', 'ClaimHosts', 'Notify', 'RunSucceeded', 'Failed']);
    expect(await lab.commands()).toEqual(commandsBefore);
    expect(existsSync(path.join(lab.hostDir(target), 'version'))).toBe(false);
    const still = await leases.acquire(targetLeaseKey(target), 'third-run', 60);
    expect(still).toMatchObject({ acquired: false, heldBy: { owner: 'other-run' } });
    expect(await notificationsOf('run-locked')).toEqual([
      expect.objectContaining({ outcome: 'failed', error: 'TargetLockedError', failedState: 'ClaimHosts' }),
    ]);
  });

  /** A resolve failure thrown by claim-hosts after it took the lease: its error and how to cause it. */
  const resolveFailures: [string, string, (hosts: HostDirectory) => LambdaHandler][] = [
    [
      'no host can take commands',
      'NoHostsError',
      (hosts) =>
        claimHostsWith({
          resolve: async (selector) => {
            await hosts.resolve(selector);
            return [];
          },
        }),
    ],
    [
      'EC2 refuses the describe call',
      'UnauthorizedOperation',
      (hosts) =>
        claimHostsWith({
          resolve: async (selector) => {
            await hosts.resolve(selector);
            throw Object.assign(new Error('You are not authorized to perform this operation.'), {
              name: 'UnauthorizedOperation',
            });
          },
        }),
    ],
    [
      'the batches could outlast the workflow timeout',
      'RunTooLongError',
      (hosts) => {
        // The workflow's timeout as if the state machine had a 1 s one: any fleet outlasts it.
        const deps = depsWith({ hosts });
        return (async (event: ClaimHostsInput) =>
          claimHostsStep({ ...event, runTimeoutSeconds: 1 }, deps)) as LambdaHandler;
      },
    ],
  ];

  it.each(resolveFailures)(
    'releases the lease it took when the hosts cannot be resolved (%s), and notifies',
    async (_what, error, claimHandler) => {
      // Prepare: the host directory says who holds the lease while the hosts are resolved
      const target = await lab.target(`wf-claim-${error.toLowerCase()}`, {
        steps: READY,
        rollback: ROLLBACK_OK,
      });
      const runId = `run-claim-${error.toLowerCase()}`;
      const leases = new FileLeaseStore();
      const heldWhileResolving: (string | undefined)[] = [];
      const real = new LocalHostDirectory();
      const watching: HostDirectory = {
        resolve: async (selector) => {
          heldWhileResolving.push((await leases.holder(targetLeaseKey(target)))?.owner);
          return real.resolve(selector);
        },
      };
      const commandsBefore = await lab.commands();

      // Act
      const result = await run({ target, ref: 'v2' }, runId, {
        [LOCAL_DEPLOY_ARNS['claim-hosts']]: claimHandler(watching),
      });

      // Assess: the lease was this run's while resolving, and is free once the run ended
      expect(heldWhileResolving).toEqual([runId]);
      expect(result.status).toBe('FAILED');
      expect(result.error).toBe(error);
      expect(entered(result)).toEqual(['PlanDeploy', 'ClaimHosts', 'Notify', 'RunSucceeded', 'Failed']);
      expect(await lab.commands()).toEqual(commandsBefore);
      expect(existsSync(path.join(lab.hostDir(target), 'version'))).toBe(false);
      expect(await leases.holder(targetLeaseKey(target))).toBeUndefined();
      expect(await notificationsOf(runId)).toEqual([
        expect.objectContaining({ outcome: 'failed', error, failedState: 'ClaimHosts' }),
      ]);
    },
  );

  it.each([
    ['a command substitution', 'v1$(touch pwned)'],
    ['a separator', 'v1; rm -rf ~'],
    ['an option', '--upload-pack=touch pwned'],
    ['a newline', 'v1\necho pwned'],
  ])(
    'rejects a ref with %s before anything runs (InvalidInputError), and still notifies',
    async (_what, ref) => {
      // Prepare
      const target = await lab.target('wf-badref', {
        steps: ['touch pwned', ...READY],
        rollback: ROLLBACK_OK,
      });
      const runId = `run-badref-${ref.length}-${ref.charCodeAt(2)}`;
      const commandsBefore = await lab.commands();

      // Act
      const result = await run({ target, ref }, runId);

      // Assess
      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('InvalidInputError');
      expect(result.cause).toContain('is not a valid ref');
      expect(entered(result)).toEqual(['PlanDeploy', 'Notify', 'RunSucceeded', 'Failed']);
      expect(result.trace.invocations.map((i) => i.functionName)).toEqual(['plan-deploy', 'notify']);
      expect(await lab.commands()).toEqual(commandsBefore);
      expect(existsSync(path.join(lab.hostDir(target), 'pwned'))).toBe(false);
      expect(existsSync(path.join(lab.hostDir(target), 'version'))).toBe(false);
      expect(await notificationsOf(runId)).toEqual([
        expect.objectContaining({
          target,
          outcome: 'failed',
          error: 'InvalidInputError',
          failedState: 'PlanDeploy',
        }),
      ]);
    },
  );

  it('refuses a 200 KB ref with InvalidInputError whose message stays within the error budget', async () => {
    // Prepare: the ref quoted back in the error, with the input itself, would pass 256 KiB.
    const target = await lab.target('wf-huge-ref', { steps: READY, rollback: ROLLBACK_OK });
    const ref = `v${'1'.repeat(200_000)}`;

    // Act
    const result = await run({ target, ref }, 'run-huge-ref');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    const caught = result.trace.events.find((e) => e.kind === 'state-failed' && e.state === 'PlanDeploy');
    const cause = JSON.parse(caught?.cause ?? '{}') as { errorMessage: string; trace: string[] };
    expect(cause.errorMessage.length).toBe(ERROR_MESSAGE_BUDGET);
    expect(cause.errorMessage).toMatch(/^ref "v1{100}.*more characters cut\]$/s);
    expect(cause.trace.length).toBeLessThanOrEqual(1 + ERROR_TRACE_FRAMES);
    expect((await notificationsOf('run-huge-ref')).map((n) => n.outcome)).toEqual(['failed']);
  });

  it('rejects an unknown target and malformed input with named errors, notifying through the fallback', async () => {
    const unknown = await run({ target: 'no-such-target', ref: 'v1' }, 'run-unknown');
    expect(unknown.error).toBe('UnknownTargetError');
    const extra = await run({ target: 'wf-success', ref: 'v1', script: 'rm -rf /' }, 'run-extra');
    expect(extra.error).toBe('InvalidInputError');
    expect(extra.cause).toContain('script');
    expect((await notificationsOf('run-unknown')).map((n) => `${n.target}:${n.error}`)).toEqual([
      'no-such-target:UnknownTargetError',
    ]);
    expect((await notificationsOf('run-extra')).map((n) => n.outcome)).toEqual(['failed']);
  });
});
