/**
 * Fleet behaviours of the deploy workflow on the local engine, with the real handlers, real git and
 * real bash: a mistyped ref never downgrades a host (verify before any change, per-run rollback
 * records), and run-once steps with each host's index and count.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createLocalDeployEngine } from '../../functions/index.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import type { LocalEngine, RunResult } from '../../shared/engine/index.ts';
import { checkoutPrevious, checkoutRef, verifyRef } from '../../shared/recipes/scripts.ts';
import { createLab, type Lab } from './fixtures.ts';

let lab: Lab;
let engine: LocalEngine;

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
}

/** An origin with tags v1 and v2 and a host cloned from it at v1; returns the commits. */
async function gitHost(dir: string): Promise<{ v1: string; v2: string }> {
  const origin = `${dir}-origin`;
  await mkdir(origin, { recursive: true });
  git(origin, 'init', '-q', '-b', 'main');
  const commits: string[] = [];
  for (const tag of ['v1', 'v2']) {
    await writeFile(path.join(origin, 'release.txt'), `${tag}\n`);
    git(origin, 'add', 'release.txt');
    git(origin, 'commit', '-q', '-m', tag);
    git(origin, 'tag', tag);
    commits.push(git(origin, 'rev-parse', 'HEAD'));
  }
  git(path.dirname(dir), 'clone', '-q', origin, dir);
  git(dir, 'checkout', '-q', '--detach', 'v1');
  return { v1: commits[0]!, v2: commits[1]! };
}

/** A local target deploying the shared checkout recipe to `dir`, its probe reading `dir/state`. */
function gitTarget(name: string, dir: string, options: { verify: boolean }): string {
  const probeName = path.basename(dir);
  const target: TargetInput = {
    name,
    description: `fleet test target ${name}`,
    hosts: { type: 'local', directory: dir },
    deploy: {
      ...(options.verify ? { verify: [{ name: 'ref-exists', script: verifyRef, timeout: 30 }] } : {}),
      steps: [
        { name: 'checkout', script: checkoutRef, timeout: 30 },
        { name: 'mark', script: 'echo ok > state; echo "$STEPOPS_REF" > deployed', timeout: 10 },
      ],
      rollback: [
        { name: 'checkout-previous', script: checkoutPrevious, timeout: 30 },
        { name: 'mark', script: 'echo ok > state', timeout: 10 },
      ],
      healthGate: { probes: ['app'], timeout: 10, interval: 1, successes: 1 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [
        { name: 'app', type: 'http', url: `http://127.0.0.1:${lab.port}/health/${probeName}`, timeout: 2 },
      ],
    },
  };
  registerTarget(target);
  return name;
}

function entered(result: RunResult, depth = 0): string[] {
  return result.trace.events
    .filter((e) => e.kind === 'state-entered' && e.depth === depth)
    .map((e) => e.state as string);
}

async function notificationsOf(runId: string): Promise<Notification[]> {
  return (await lab.notifications()).filter((n) => n.runId === runId);
}

function run(input: unknown, runId: string): Promise<RunResult> {
  return engine.start(input, { executionName: runId }).result;
}

beforeAll(async () => {
  lab = await createLab();
  engine = createLocalDeployEngine();
});
afterAll(async () => {
  clearRegisteredTargets();
  await lab?.close();
});

describe('a mistyped ref', () => {
  it('fails at the verify step on every host before any host changes, without a rollback', async () => {
    // Prepare: v2 deployed by an earlier run
    const dir = lab.hostDir('fleet-verify');
    const { v2 } = await gitHost(dir);
    const target = gitTarget('fleet-verify', dir, { verify: true });
    const first = await run({ target, ref: 'v2' }, 'run-verify-1');
    const commandsBefore = (await lab.commands()).length;

    // Act
    const result = await run({ target, ref: 'v3-typo' }, 'run-verify-2');

    // Assess
    expect(first.status).toBe('SUCCEEDED');
    expect(entered(first)).toEqual(expect.arrayContaining(['SendVerifyCommand', 'WaitForVerify']));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('CommandFailedError');
    expect(entered(result)).toEqual([
      'PlanDeploy',
      'AcquireLock',
      'ResolveHosts',
      'VerifyRequested',
      'SendVerifyCommand',
      'WaitForVerify',
      'VerifyCommandDone',
      'RecordVerifyFailure',
      'ReleaseLock',
      'Notify',
      'RunSucceeded',
      'Failed',
    ]);
    expect((await lab.commands()).length).toBe(commandsBefore + 1);
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(v2);
    const [notification] = await notificationsOf('run-verify-2');
    expect(notification).toMatchObject({ outcome: 'failed', failedState: 'WaitForVerify' });
    expect(notification?.summary).toContain('before any host was changed');
    expect(notification?.cause).toContain('ref "v3-typo" is not a branch, tag or commit of origin');
  });

  it('without a verify step, fails the checkout and the rollback leaves the host at the version it had', async () => {
    // Prepare: v2 deployed by an earlier run, which recorded v1 as the commit it replaced
    const dir = lab.hostDir('fleet-noverify');
    const { v1, v2 } = await gitHost(dir);
    const target = gitTarget('fleet-noverify', dir, { verify: false });
    const first = await run({ target, ref: 'v2' }, 'run-noverify-1');

    // Act
    const result = await run({ target, ref: 'v3-typo' }, 'run-noverify-2');

    // Assess: rolled back, and still at v2: never downgraded to v1
    expect(first.status).toBe('SUCCEEDED');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployFailedError');
    expect(entered(result)).toEqual(
      expect.arrayContaining(['SendRollbackCommand', 'CheckHealthAfterRollback']),
    );
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(v2);
    expect(git(dir, 'rev-parse', 'HEAD')).not.toBe(v1);
    const [notification] = await notificationsOf('run-noverify-2');
    expect(notification).toMatchObject({ outcome: 'rolled-back', failedState: 'WaitForDeploy' });
  });
});

describe('run-once steps', () => {
  it('run a migration on the first host of the first batch only; every step sees its host index and count', async () => {
    // Prepare: two local hosts, one per batch
    const root = lab.hostDir('fleet-once');
    const hosts = [path.join(root, 'web-1'), path.join(root, 'web-2')];
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'state'), 'ok');
    registerTarget({
      name: 'fleet-once',
      description: 'two hosts, a migration that runs once',
      hosts: { type: 'local', directory: hosts },
      deploy: {
        steps: [
          { name: 'where', script: 'echo "$STEPOPS_HOST_INDEX/$STEPOPS_HOST_COUNT" > where', timeout: 10 },
          {
            name: 'migrate',
            script: 'echo "$STEPOPS_REF on $STEPOPS_HOST_INDEX" >> ../migrations',
            timeout: 10,
            runOnce: true,
          },
        ],
        rollback: [{ name: 'nothing', script: 'true', timeout: 10 }],
        batches: { size: 1, maxErrors: 0 },
        healthGate: { probes: ['app'], timeout: 10, interval: 1, successes: 1 },
      },
      health: {
        schedule: 'rate(5 minutes)',
        probes: [
          { name: 'app', type: 'http', url: `http://127.0.0.1:${lab.port}/health/fleet-once`, timeout: 2 },
        ],
      },
    });

    // Act
    const result = await run({ target: 'fleet-once', ref: 'v7' }, 'run-once');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(entered(result, 1).filter((s) => s === 'SendDeployCommand')).toHaveLength(2);
    expect(readFileSync(path.join(hosts[0]!, 'where'), 'utf8').trim()).toBe('0/2');
    expect(readFileSync(path.join(hosts[1]!, 'where'), 'utf8').trim()).toBe('1/2');
    expect(readFileSync(path.join(root, 'migrations'), 'utf8')).toBe('v7 on 0\n');
  });
});
