/**
 * Maintenance on the lab, for real: two lab apps (each its own process and port) behind the local
 * load balancer, a maintenance job rolling over them one host per batch through the maintenance
 * workflow's ASL on the local engine (bash on the hosts, the file lease, the outbox). The job's
 * health gate stops the next batch when a batch leaves its host unhealthy, and the failure is
 * alerted; a job that finds the target held by a deploy is skipped and changes nothing; while the
 * job runs, a health round counts the target as in maintenance and alerts nothing. The recipes run
 * on the lab too, their root-only commands through a stand-in `sudo` on the hosts' PATH (it logs
 * each command and runs it, and refuses any call without `-n`, as sudo prompts for a password).
 */

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalHealthEngine } from '../../functions/index.ts';
import { type LabPaths, setupLab, startLabApp, stopLabApp } from '../../lab/setup.ts';
import { registerTarget } from '../../shared/config/registry.ts';
import { commandRunnerFor, hostDirectoryFor } from '../../shared/drivers/index.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import { LocalLoadBalancer } from '../../shared/drivers/local/local-load-balancer.ts';
import { OutboxNotifier, readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';
import type { HostRef } from '../../shared/drivers/ports.ts';
import { createLocalEngine } from '../../shared/engine/index.ts';
import type { HealthRunSummary } from '../../shared/health/contracts.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';
import { targetLeaseKey } from '../../shared/lease-keys.ts';
import { maintenanceTaskHandlers } from '../../shared/maintenance/handlers.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { shellQuote } from '../../shared/shell/script.ts';
import { localArns } from '../../workflows/asl.ts';
import { MAINTAIN_FUNCTIONS, maintainWorkflow } from '../../workflows/maintain.ts';

const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/lab/0123456789abcdef';
const ARNS = localArns(MAINTAIN_FUNCTIONS);

let root: string;
let home: string;
let labs: LabPaths[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const hostOf = (lab: LabPaths): HostRef => ({ kind: 'local', id: `local:${lab.host}`, directory: lab.host });

/**
 * The job's step: records when it ran on this host (`maintained`), then, when the host holds a
 * `break-app` file, stops the app (what a reboot that does not come back does); `hold-step` makes it
 * wait until the file is removed.
 */
const STEP = `date +%s%N > maintained
while [ -e hold-step ]; do sleep 0.05; done
if [ -e break-app ]; then bash ../bin/app-ctl.sh stop; fi
echo "maintained $(pwd)"`;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-maintain-'));
  home = path.join(root, 'home');
  process.env.STEPOPS_HOME = home;
  for (const name of ['web-1', 'web-2']) {
    const lab = await setupLab({ dir: path.join(root, name), port: await freePort() });
    await startLabApp(lab);
    labs.push(lab);
  }
  registerTarget({
    name: 'mt-lab',
    description: 'two lab apps behind the local load balancer, maintained one at a time',
    hosts: { type: 'local', directory: labs.map((l) => l.host) },
    deploy: {
      steps: [{ name: 'noop', script: 'true', timeout: 10 }],
      rollback: [{ name: 'noop', script: 'true', timeout: 10 }],
      healthGate: { probes: ['app'], timeout: 3, interval: 1, successes: 1 },
      loadBalancer: { targetGroups: [GROUP], drainTimeout: 30, healthyTimeout: 30 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [
        {
          name: 'app',
          type: 'command',
          script: '. ../lab.env && exec 3<>"/dev/tcp/127.0.0.1/${LAB_PORT}"',
          timeout: 5,
        },
      ],
    },
    maintenance: {
      hygiene: {
        description: 'a step on each host, one host at a time, behind the gate',
        schedule: 'cron(0 3 ? * SUN *)',
        timezone: 'Europe/Paris',
        steps: [{ type: 'script', name: 'tidy', script: STEP, timeout: 60 }],
        batchSize: 1,
        healthGate: ['app'],
        mute: ['app'],
      },
    },
  });
  await setUpStandins();
  registerTarget({
    name: 'mt-lab-mute',
    description: 'the two lab apps, a job that mutes one probe of two',
    hosts: { type: 'local', directory: labs.map((l) => l.host) },
    health: {
      schedule: 'rate(5 minutes)',
      failureThreshold: 1,
      successThreshold: 1,
      probes: [
        { name: 'app', type: 'command', script: 'test ! -e app-down', timeout: 5 },
        { name: 'disk', type: 'command', script: 'test ! -e disk-down', timeout: 5 },
      ],
    },
    maintenance: {
      reload: {
        description: 'a reload that disturbs the app probe only',
        schedule: 'cron(0 3 ? * SUN *)',
        steps: [{ type: 'script', name: 'reload', script: STEP, timeout: 60 }],
        mute: ['app'],
      },
    },
  });
});

/** Stand-ins of the system tools the recipes call, and of sudo, on the hosts' PATH. */
const STANDIN = `#!/usr/bin/env bash
name=$(basename "$0")
printf '%s %s\\n' "$name" "$*" >> STANDIN_LOG
case "$name" in
  sudo)
    if [ "$1" != -n ]; then echo "sudo: a password is required" >&2; exit 1; fi
    shift
    exec "$@" ;;
  certbot)
    # certbot runs the --deploy-hook once per renewed certificate (here: when the host holds renew-due).
    if [ -e renew-due ]; then
      while [ $# -gt 0 ]; do
        if [ "$1" = --deploy-hook ]; then bash -c "$2"; fi
        shift
      done
    fi ;;
  journalctl) echo "Archived and active journals take up 8.0M in the file system." ;;
esac
exit 0
`;
let standins: string;
let standinLog: string;

async function setUpStandins(): Promise<void> {
  standins = path.join(root, 'standins');
  await mkdir(standins, { recursive: true });
  standinLog = path.join(root, 'standins.log');
  for (const tool of ['sudo', 'certbot', 'nginx', 'systemctl', 'journalctl']) {
    await writeFile(path.join(standins, tool), STANDIN.replace('STANDIN_LOG', shellQuote(standinLog)), {
      mode: 0o755,
    });
  }
  registerTarget({
    name: 'mt-lab-certs',
    description: 'the two lab apps, their certificates renewed one host at a time',
    hosts: { type: 'local', directory: labs.map((l) => l.host), path: [standins] },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [
        {
          name: 'app',
          type: 'command',
          script: '. ../lab.env && exec 3<>"/dev/tcp/127.0.0.1/${LAB_PORT}"',
          timeout: 5,
        },
      ],
    },
    maintenance: {
      certs: {
        description: 'renew, reload only when renewed, vacuum the journal',
        schedule: 'cron(15 4 * * ? *)',
        steps: [
          { type: 'certbot-renew', name: 'renew', timeout: 60 },
          { type: 'disk-cleanup', name: 'journal', journalMaxAgeDays: 14, timeout: 60 },
        ],
        healthGate: ['app'],
        mute: ['app'],
      },
    },
  });
}

afterAll(async () => {
  for (const lab of labs) await stopLabApp(lab.dir);
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  labs = [];
});

beforeEach(async () => {
  for (const lab of labs) {
    for (const file of ['maintained', 'break-app', 'hold-step', 'app-down', 'disk-down'])
      await rm(path.join(lab.host, file), { force: true });
    await startLabApp(lab).catch(() => undefined);
  }
  await new LocalLoadBalancer({ home: () => home }).register(GROUP, labs.map(hostOf));
  await new FileLeaseStore({ home: () => home }).release(targetLeaseKey('mt-lab'), 'deploy-1');
});

function engine() {
  const deps = recoveryDepsWith({
    commands: (t) => commandRunnerFor(t),
    hosts: (t) => hostDirectoryFor(t),
    probes: (t) => probeRunnerFor(t),
    loadBalancer: () => new LocalLoadBalancer({ home: () => home }),
    leases: () => new FileLeaseStore({ home: () => home }),
    notifier: () => new OutboxNotifier({ home: () => home, stream: null }),
    fallbackNotifier: () => new OutboxNotifier({ home: () => home, stream: null }),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
  });
  const tasks = maintenanceTaskHandlers(deps);
  return createLocalEngine(
    maintainWorkflow(ARNS),
    Object.fromEntries(MAINTAIN_FUNCTIONS.map((fn) => [ARNS[fn], tasks[fn]])),
    { stateMachineName: 'stepops-maintenance' },
  );
}

let runs = 0;
function maintain() {
  const runId = `mt-lab-${++runs}-${Date.now()}`;
  return {
    runId,
    execution: engine().start(
      { target: 'mt-lab', job: 'hygiene', trigger: 'schedule' },
      { executionName: runId },
    ),
  };
}

const ranAt = async (lab: LabPaths): Promise<bigint | undefined> => {
  const text = await readFile(path.join(lab.host, 'maintained'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : BigInt(text.trim());
};

async function lastNotification(runId: string) {
  return (await readOutbox(home)).filter((n) => n.runId === runId).at(-1);
}

describe('maintenance rolling over the lab', () => {
  it('runs the job one host per batch, each drained, gated and registered back, then tells how it went', async () => {
    // Act
    const { runId, execution } = maintain();
    const result = await execution.result;

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'succeeded' });
    const [first, second] = await Promise.all(labs.map(ranAt));
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect((first as bigint) < (second as bigint), 'host 1 before host 2').toBe(true);
    const summary = String((result.output as { summary?: string }).summary);
    expect(summary).toContain('maintenance "hygiene" of mt-lab succeeded');
    expect(summary).toContain('in 2 batches');
    const members = await new LocalLoadBalancer({ home: () => home }).health(GROUP, labs.map(hostOf));
    expect(members.map((m) => m.state)).toEqual(['healthy', 'healthy']);
    const told = await lastNotification(runId);
    expect(told).toMatchObject({ workflow: 'maintenance', outcome: 'succeeded', target: 'mt-lab' });
    expect(await new FileLeaseStore({ home: () => home }).holder(targetLeaseKey('mt-lab'))).toBeUndefined();
  });

  it('a batch that fails the health gate stops the job before the next batch, and the failure is alerted', async () => {
    // Prepare
    const [first, second] = labs as [LabPaths, LabPaths];
    await writeFile(path.join(first.host, 'break-app'), '');

    // Act
    const { runId, execution } = maintain();
    const result = await execution.result;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RecoveryStepFailedError');
    expect(result.cause).toContain('batch 1 of 2');
    expect(result.cause).toContain('did not pass the health gate');
    expect(await ranAt(first)).toBeDefined();
    expect(await ranAt(second), 'the second batch never started').toBeUndefined();
    const told = await lastNotification(runId);
    expect(told).toMatchObject({
      workflow: 'maintenance',
      outcome: 'failed',
      error: 'RecoveryStepFailedError',
    });
    expect(told?.summary).toContain('maintenance "hygiene" of mt-lab failed');
    expect(await new FileLeaseStore({ home: () => home }).holder(targetLeaseKey('mt-lab'))).toBeUndefined();
  });
});

describe('maintenance and the target lease', () => {
  it('a deploy holding the target: the job is skipped, recorded and told, and no host is touched', async () => {
    // Prepare
    const leases = new FileLeaseStore({ home: () => home });
    await leases.acquire(targetLeaseKey('mt-lab'), 'deploy-1', 600);

    // Act
    const { runId, execution } = maintain();
    const result = await execution.result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'skipped', error: 'TargetLockedError', unchanged: true });
    expect(String((result.output as { cause?: string }).cause)).toContain('deploy-1');
    for (const lab of labs) expect(await ranAt(lab)).toBeUndefined();
    expect((await leases.holder(targetLeaseKey('mt-lab')))?.owner).toBe('deploy-1');
    expect(await lastNotification(runId)).toMatchObject({ workflow: 'maintenance', outcome: 'skipped' });
  });

  it('while the job runs it holds the target: a deploy cannot take it until the job ends', async () => {
    // Prepare
    const first = labs[0] as LabPaths;
    await writeFile(path.join(first.host, 'hold-step'), '');
    const leases = new FileLeaseStore({ home: () => home });
    const { runId, execution } = maintain();
    while ((await stat(path.join(first.host, 'maintained')).catch(() => undefined)) === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Act
    const during = await leases.acquire(targetLeaseKey('mt-lab'), 'deploy-2', 600);
    await rm(path.join(first.host, 'hold-step'));
    const result = await execution.result;
    const after = await leases.acquire(targetLeaseKey('mt-lab'), 'deploy-2', 600);

    // Assess
    expect(during).toMatchObject({ acquired: false, heldBy: { owner: runId } });
    expect(result.status).toBe('SUCCEEDED');
    expect(after).toEqual({ acquired: true });
    await leases.release(targetLeaseKey('mt-lab'), 'deploy-2');
  });
});

describe('bad input', () => {
  it('an unknown job fails the plan, takes no lease and runs nothing', async () => {
    // Act
    const result = await engine().start(
      { target: 'mt-lab', job: 'nope' },
      { executionName: `mt-bad-${Date.now()}` },
    ).result;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InvalidInputError');
    expect(result.cause).toContain('no maintenance job "nope" (jobs: hygiene)');
    for (const lab of labs) expect(await ranAt(lab)).toBeUndefined();
  });
});

describe('the recipes on the lab, root-only commands through sudo -n', () => {
  it('renews, reloads only the host whose certificate was renewed, and vacuums the journal, all as root', async () => {
    // Prepare: the first host's certificate is due, the second's is not
    const [first, second] = labs as [LabPaths, LabPaths];
    await writeFile(path.join(first.host, 'renew-due'), '');
    await rm(standinLog, { force: true });

    // Act
    const result = await engine().start(
      { target: 'mt-lab-certs', job: 'certs' },
      { executionName: `mt-certs-${Date.now()}` },
    ).result;

    // Assess
    await rm(path.join(first.host, 'renew-due'), { force: true });
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    const log = (await readFile(standinLog, 'utf8')).split('\n').filter(Boolean);
    const asRoot = log.filter((l) => l.startsWith('sudo ')).map((l) => l.replace(/^sudo -n /, ''));
    const marker = "touch -- '.stepops-certbot-renewed'";
    expect(asRoot).toEqual([
      // host 1: renewed, checked, reloaded, the marker removed
      `certbot renew --non-interactive --no-random-sleep-on-renew --deploy-hook ${marker}`,
      'nginx -t',
      'systemctl reload nginx',
      'rm -f -- .stepops-certbot-renewed',
      // host 2: nothing was due
      `certbot renew --non-interactive --no-random-sleep-on-renew --deploy-hook ${marker}`,
      // the journal step, host by host
      'journalctl --vacuum-time=14d',
      'journalctl --vacuum-time=14d',
    ]);
    // Every tool ran through sudo: no root command was called without it
    const direct = log.filter((l) => !l.startsWith('sudo '));
    expect(direct).toEqual(asRoot.filter((c) => !c.startsWith('rm ')));
    for (const lab of [first, second]) {
      expect(existsSync(path.join(lab.host, '.stepops-certbot-renewed'))).toBe(false);
    }
  });
});

describe('health while a maintenance job runs: only the probes the job mutes are muted', () => {
  const healthRound = async (runId: string) =>
    (await createLocalHealthEngine().start({ target: 'mt-lab-mute' }, { executionName: runId }).result)
      .output as HealthRunSummary;
  const healthAlerts = async () =>
    (await readOutbox(home)).filter((n) => n.target === 'mt-lab-mute' && n.workflow === 'health');

  it('a probe not in mute alerts during the job; one in mute does not, and is alerted after the job if still down', async () => {
    // Prepare: the job holds its first host while both probes go down there
    const first = labs[0] as LabPaths;
    await writeFile(path.join(first.host, 'hold-step'), '');
    const runId = `mt-mute-${Date.now()}`;
    const job = engine().start({ target: 'mt-lab-mute', job: 'reload' }, { executionName: runId });
    while ((await stat(path.join(first.host, 'maintained')).catch(() => undefined)) === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writeFile(path.join(first.host, 'app-down'), '');
    await writeFile(path.join(first.host, 'disk-down'), '');

    // Act
    const during = await healthRound(`${runId}-h1`);
    await rm(path.join(first.host, 'hold-step'));
    const ended = await job.result;
    const after = await healthRound(`${runId}-h2`);

    // Assess: during the job, disk (not muted) alerted, app (muted) recorded only
    expect(ended.status).toBe('SUCCEEDED');
    expect(during.maintenance).toBe(`run ${runId} (maintenance "reload" of mt-lab-mute, muting app)`);
    expect(during.events.map((e) => [e.kind, e.probe, e.alerted])).toEqual([
      ['down', 'app', false],
      ['down', 'disk', true],
    ]);
    // After it, app still down is alerted; disk, already told, is not told again
    expect(after.maintenance).toBeUndefined();
    expect(after.events.map((e) => [e.kind, e.probe, e.alerted])).toEqual([['still-down', 'app', true]]);
    const alerts = await healthAlerts();
    expect(alerts).toHaveLength(2);
    expect(alerts[0]?.summary).toContain('disk on local:');
    expect(alerts[0]?.summary).not.toContain('app on local:');
    expect(alerts[1]?.summary).toMatch(
      /app on local:\S+ is still down after run mt-mute-\d+ \(maintenance "reload"/,
    );
  });
});
