/**
 * Fleet behaviours of the deploy workflow on the local engine, with the real handlers, real git and
 * real bash: a mistyped ref never downgrades a host (verify before any change, per-run rollback
 * records), and run-once steps with each host's index and count.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import type { Context } from 'aws-lambda';
import { createLocalDeployEngine, LOCAL_DEPLOY_ARNS } from '../../functions/index.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import type { TargetsInput } from '../../shared/deploy/contracts.ts';
import { defaultDeployDeps } from '../../shared/deploy/deps.ts';
import { drainTargetsStep } from '../../shared/deploy/load-balancer.ts';
import { LocalLoadBalancer } from '../../shared/drivers/local/local-load-balancer.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import type { LambdaHandler, LocalEngine, RunResult } from '../../shared/engine/index.ts';
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
        { name: 'mark', script: 'echo ok > state; echo "$STEPOPS_RUN_ID" >> rollback-steps', timeout: 10 },
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

function run(
  input: unknown,
  runId: string,
  overrides: Record<string, LambdaHandler> = {},
): Promise<RunResult> {
  return engine.start(input, { executionName: runId, handlerOverrides: overrides }).result;
}

/** `[batch] State` for the states entered inside the batches. */
function enteredInBatches(result: RunResult): string[] {
  return result.trace.events
    .filter((e) => e.kind === 'state-entered' && e.depth === 1)
    .map((e) => `[${e.iteration}] ${e.state}`);
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
      'ClaimHosts',
      'VerifyRequested',
      'SendVerifyCommand',
      'WaitForVerify',
      'VerifyCommandDone',
      'RecordVerifyFailure',
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
    // and the rest of its rollback (rebuilds, restarts) did not run on a host this run did not change
    expect(existsSync(path.join(dir, 'rollback-steps'))).toBe(false);
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

describe('a target behind a load balancer', () => {
  const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';

  /** Two local hosts in one target group, one per batch; the probe reads `<root>/state`. */
  async function webTarget(name: string, steps: string[]): Promise<{ hosts: string[]; root: string }> {
    const root = lab.hostDir(name);
    const hosts = [path.join(root, 'web-1'), path.join(root, 'web-2')];
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'state'), 'ok');
    registerTarget({
      name,
      description: 'two hosts behind a target group',
      hosts: { type: 'local', directory: hosts },
      deploy: {
        steps: steps.map((script, i) => ({ name: `step-${i + 1}`, script, timeout: 10 })),
        rollback: [{ name: 'back', script: 'echo rolled-back > version; echo ok > ../state', timeout: 10 }],
        batches: { size: 1, maxErrors: 0 },
        healthGate: { probes: ['app'], timeout: 3, interval: 1, successes: 1 },
        loadBalancer: { targetGroups: [GROUP], drainTimeout: 20, healthyTimeout: 20 },
      },
      health: {
        schedule: 'rate(5 minutes)',
        probes: [
          { name: 'app', type: 'http', url: `http://127.0.0.1:${lab.port}/health/${name}`, timeout: 2 },
        ],
      },
    });
    const lb = new LocalLoadBalancer();
    await lb.register(
      GROUP,
      hosts.map((dir) => ({ kind: 'local' as const, id: `local:${dir}`, directory: dir })),
    );
    return { hosts, root };
  }

  /** The membership file of the local load balancer, as the host saw it during its deploy. */
  const SNAPSHOT_MEMBERSHIP = 'cp "$STEPOPS_HOME/load-balancer.json" lb-during-deploy';

  it('takes each batch out of the target group, waits for draining, deploys, gates and registers it again', async () => {
    // Prepare: deregistered hosts drain for 1.2 s
    const { hosts } = await webTarget('fleet-lb', [SNAPSHOT_MEMBERSHIP, 'echo "$STEPOPS_REF" > version']);
    const draining = new LocalLoadBalancer({ drainMs: 1_200 });
    const real = defaultDeployDeps();
    const deps = {
      ...real,
      driversFor: (t: Parameters<typeof real.driversFor>[0]) => ({
        ...real.driversFor(t),
        loadBalancer: draining,
      }),
    };
    const drain = (async (event: TargetsInput, context: Context) =>
      drainTargetsStep(event, deps, () => context.getRemainingTimeInMillis())) as LambdaHandler;

    // Act
    const result = await run({ target: 'fleet-lb', ref: 'v5' }, 'run-lb', {
      [LOCAL_DEPLOY_ARNS['drain-targets']]: drain,
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const batch0 = enteredInBatches(result).filter((s) => s.startsWith('[0]'));
    expect(batch0).toEqual([
      '[0] DrainRequested',
      '[0] DrainTargets',
      '[0] DrainDone',
      '[0] SendDeployCommand',
      '[0] WaitForDeploy',
      '[0] DeployCommandDone',
      '[0] CheckHealth',
      '[0] HealthGateDone',
      '[0] RegisterRequested',
      '[0] RegisterTargets',
      '[0] RegisterDone',
      '[0] BatchDeployed',
    ]);
    const drained = result.trace.events.find((e) => e.kind === 'state-exited' && e.state === 'DrainTargets');
    expect((drained?.output as { drain: { rounds: number } } | undefined)?.drain.rounds).toBeGreaterThan(1);
    // While host 1 deployed it was out of the group and host 2 in it; and the other way round.
    const during = hosts.map(
      (dir) => JSON.parse(readFileSync(path.join(dir, 'lb-during-deploy'), 'utf8'))[GROUP],
    );
    expect(during[0][`local:${hosts[0]}`]).toMatchObject({ state: 'draining' });
    expect(during[0][`local:${hosts[1]}`]).toMatchObject({ state: 'initial' });
    expect(during[1][`local:${hosts[0]}`]).toMatchObject({ state: 'initial' });
    expect(during[1][`local:${hosts[1]}`]).toMatchObject({ state: 'draining' });
    const after = await new LocalLoadBalancer().health(
      GROUP,
      hosts.map((dir) => ({ kind: 'local' as const, id: `local:${dir}`, directory: dir })),
    );
    expect(after.map((h) => h.state)).toEqual(['healthy', 'healthy']);
  });

  it('on a failed batch, takes the rolled-back hosts out, rolls them back, and registers them once healthy', async () => {
    // Prepare: the second batch breaks the health endpoint
    const { hosts } = await webTarget('fleet-lb-fail', [
      'echo "$STEPOPS_REF" > version',
      'if [ "$STEPOPS_HOST_INDEX" = 1 ]; then echo broken > ../state; fi',
    ]);

    // Act
    const result = await run({ target: 'fleet-lb-fail', ref: 'v6' }, 'run-lb-fail');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DeployFailedError');
    expect(enteredInBatches(result)).not.toContain('[1] RegisterTargets');
    expect(entered(result)).toEqual(
      expect.arrayContaining([
        'PlanRollback',
        'RollbackDrainRequested',
        'DrainRollbackTargets',
        'SendRollbackCommand',
        'CheckHealthAfterRollback',
        'RollbackRegisterRequested',
        'RegisterRollbackTargets',
      ]),
    );
    const order = entered(result);
    expect(order).toEqual(
      expect.arrayContaining([
        'DrainRollbackTargets',
        'SendRollbackCommand',
        'CheckHealthAfterRollback',
        'RegisterRollbackTargets',
      ]),
    );
    expect(order.indexOf('DrainRollbackTargets')).toBeLessThan(order.indexOf('SendRollbackCommand'));
    expect(order.indexOf('RegisterRollbackTargets')).toBeGreaterThan(
      order.indexOf('CheckHealthAfterRollback'),
    );
    for (const dir of hosts)
      expect(readFileSync(path.join(dir, 'version'), 'utf8').trim()).toBe('rolled-back');
    const after = await new LocalLoadBalancer().health(
      GROUP,
      hosts.map((dir) => ({ kind: 'local' as const, id: `local:${dir}`, directory: dir })),
    );
    expect(after.map((h) => h.state)).toEqual(['healthy', 'healthy']);
    const [notification] = await notificationsOf('run-lb-fail');
    expect(notification).toMatchObject({ outcome: 'rolled-back', failedState: 'CheckHealth' });
  });

  it('fails before any command when the hosts do not drain in time; a rollback that cannot drain them either needs a person', async () => {
    // Prepare: hosts that never finish draining within the 20 s drain timeout of one run
    const { hosts } = await webTarget('fleet-lb-stuck', ['echo "$STEPOPS_REF" > version']);
    const stuck = new LocalLoadBalancer({ drainMs: 600_000 });
    const real = defaultDeployDeps();
    let clock = Date.now();
    const deps = {
      ...real,
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms;
      },
      driversFor: (t: Parameters<typeof real.driversFor>[0]) => ({
        ...real.driversFor(t),
        loadBalancer: stuck,
      }),
    };
    const drain = (async (event: TargetsInput, context: Context) =>
      drainTargetsStep(event, deps, () => context.getRemainingTimeInMillis())) as LambdaHandler;

    // Act
    const result = await run({ target: 'fleet-lb-stuck', ref: 'v7' }, 'run-lb-stuck', {
      [LOCAL_DEPLOY_ARNS['drain-targets']]: drain,
    });

    // Assess: no command ran on any host; the hosts stay out of the group for a person to look at
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RollbackFailedError');
    expect(enteredInBatches(result)).toEqual(
      expect.arrayContaining(['[0] DrainTargets', '[0] RecordDrainFailure', '[0] BatchFailed']),
    );
    expect(enteredInBatches(result)).not.toContain('[0] SendDeployCommand');
    expect(entered(result)).not.toContain('SendRollbackCommand');
    const [notification] = await notificationsOf('run-lb-stuck');
    expect(notification).toMatchObject({ outcome: 'rollback-failed', failedState: 'DrainRollbackTargets' });
    expect(notification?.cause).toContain('deploy failed state: DrainTargets (batch 1 of 2)');
    expect(notification?.cause).toContain("did not drain from the load balancer's target groups");
    expect(notification?.cause).toContain('Target.DeregistrationInProgress');
    expect(hosts.some((dir) => existsSync(path.join(dir, 'version')))).toBe(false);
  });
});
