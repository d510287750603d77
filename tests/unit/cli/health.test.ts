/**
 * `stepops run health` and `stepops watch`: one run on the local engine printed as the probe
 * table, the watch on the target's schedule until aborted, and bad input refused before anything runs.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  healthHistory,
  healthTable,
  runHealthOnce,
  scheduleIntervalMs,
  watchHealth,
} from '../../../cli/commands/health.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import { emptyHealthState } from '../../../shared/health/state.ts';

let server: Server;
let base: string;
let root: string;
let healthy = true;
const previousHome = process.env.STEPOPS_HOME;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-cli-health-'));
  process.env.STEPOPS_HOME = root;
  server = createServer((_req, res) => res.writeHead(healthy ? 200 : 503).end(healthy ? 'ok' : 'down'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (previousHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = previousHome;
  await rm(root, { recursive: true, force: true });
});
afterEach(() => clearRegisteredTargets());

function register(name: string, withHealth = true): void {
  registerTarget({
    name,
    description: 'cli health target',
    hosts: { type: 'local', directory: root },
    ...(withHealth
      ? {
          health: {
            schedule: 'rate(2 minutes)',
            failureThreshold: 1,
            successThreshold: 1,
            probes: [{ name: 'site', type: 'http' as const, url: `${base}/health`, timeout: 2 }],
          },
        }
      : {}),
  });
}

function capture() {
  const lines: string[] = [];
  return {
    lines,
    output: { out: (t: string) => void lines.push(t), err: (t: string) => void lines.push(`ERR ${t}`) },
  };
}

describe('stepops run health', () => {
  it('runs once and prints the table, exit 0 when up and 1 when down', async () => {
    // Prepare
    register('cli-health');
    const up = capture();
    const down = capture();

    // Act
    healthy = true;
    const first = await runHealthOnce({ target: 'cli-health', output: up.output });
    healthy = false;
    const second = await runHealthOnce({ target: 'cli-health', output: down.output });

    // Assess
    expect(first.exitCode).toBe(0);
    expect(up.lines[0]).toMatch(/^health cli-health \(run health-cli-health-\d+\): 1 up, 0 down$/);
    expect(up.lines[1]?.split('\n')[0]).toMatch(/^probe\s+state\s+value\s+condition\s+since$/);
    expect(up.lines[1]).toMatch(
      /site\s+up\s+200 in \d+ ms\s+GET http:\/\/127\.0\.0\.1:\d+\/health → status 200/,
    );
    expect(second.exitCode).toBe(1);
    expect(down.lines[0]).toMatch(/0 up, 1 down; site went down \(alerted\)$/);
    expect(down.lines[1]).toMatch(/site\s+DOWN\s+expected status 200, got 503/);
  });

  it('counts a probe failing but not yet down as failing, not up', async () => {
    // Prepare
    registerTarget({
      name: 'cli-failing',
      description: 'cli health target',
      hosts: { type: 'local', directory: root },
      health: {
        schedule: 'rate(2 minutes)',
        failureThreshold: 3,
        probes: [{ name: 'site', type: 'http' as const, url: `${base}/health`, timeout: 2 }],
      },
    });
    const seen = capture();

    // Act
    healthy = false;
    await runHealthOnce({ target: 'cli-failing', output: seen.output });

    // Assess
    expect(seen.lines[0]).toMatch(/: 0 up, 1 failing, 0 down$/);
    expect(seen.lines[1]).toMatch(/site\s+FAILING \(1 in a row\)\s+expected status 200, got 503/);
  });

  it('carries out the runbook the alert requested through the local recover workflow', async () => {
    // Prepare: an unattended runbook (a health-alert run of it needs no approval) that leaves a mark
    const mark = path.join(root, 'recovered-by-health');
    registerTarget({
      name: 'cli-recover',
      description: 'cli health target',
      hosts: { type: 'local', directory: root },
      health: {
        schedule: 'rate(2 minutes)',
        failureThreshold: 1,
        probes: [{ name: 'site', type: 'http' as const, url: `${base}/health`, timeout: 2, runbook: 'mark' }],
      },
      recovery: {
        mark: {
          description: 'leave a mark',
          unattended: true,
          steps: [{ type: 'script', name: 'mark', script: `touch ${mark}`, timeout: 10 }],
          verify: [],
        },
      },
    });
    const seen = capture();

    // Act
    healthy = false;
    await runHealthOnce({ target: 'cli-recover', output: seen.output, recover: true });

    // Assess
    expect(seen.lines[0]).toMatch(/site went down \(alerted\); requested runbook mark$/);
    expect(seen.lines.join('\n')).toMatch(
      /runbook mark finished \(run local-recovery-cli-recover-mark-health-/,
    );
    await expect(access(mark)).resolves.toBeUndefined();
  });

  it('prints the uptime history: today from the probe state, per probe; refuses bad options', async () => {
    // Prepare: a few rounds, one failing
    register('cli-history');
    healthy = true;
    await runHealthOnce({ target: 'cli-history', output: capture().output });
    healthy = false;
    await runHealthOnce({ target: 'cli-history', output: capture().output });
    const seen = capture();

    // Act
    const code = await healthHistory({ target: 'cli-history', days: 2, output: seen.output });

    // Assess
    expect(code).toBe(0);
    expect(seen.lines[0]).toBe('uptime of cli-history, last 2 days (UTC)');
    expect(seen.lines[1]).toMatch(
      /^day\s+probe\s+checks\s+uptime\s+p50\s+p95\s+p99\n\d{4}-\d\d-\d\d\s+site\s+2\s+50\.00%\s+≤\d+ ms/,
    );
    await expect(healthHistory({ target: 'cli-history', days: 91 })).rejects.toThrow(
      '--days 91: expected a whole number of days from 1 to 90',
    );
    await expect(healthHistory({ target: 'cli-history', probe: 'nope' })).rejects.toThrow(
      'target "cli-history" has no probe named "nope" (probes: site)',
    );
  });

  it('reads the uptime history of a stage from its state table, and refuses what cannot be read there', async () => {
    // Prepare: an ec2 target, whose checks run on the stage
    registerTarget({
      name: 'cli-stage-history',
      description: 'checked on a stage',
      hosts: {
        type: 'ec2',
        region: 'us-east-1',
        instanceIds: ['i-0123456789abcdef0'],
        workingDirectory: '/opt/app',
      },
      health: {
        schedule: 'rate(1 minute)',
        probes: [{ name: 'site', type: 'http', url: 'https://example.com/' }],
      },
    });
    register('cli-local-history');
    const dynamo = mockClient(DynamoDBClient);
    dynamo.on(GetItemCommand).resolves({});
    const seen = capture();

    try {
      // Act
      const code = await healthHistory({
        target: 'cli-stage-history',
        stage: 'prod',
        days: 2,
        output: seen.output,
        env: {},
      });
      const renamed = capture();
      await healthHistory({
        target: 'cli-stage-history',
        days: 1,
        output: renamed.output,
        env: { STEPOPS_STAGE: 'prod', STEPOPS_STATE_TABLE: 'ops-state', STEPOPS_REGION: 'ap-south-1' },
      });

      // Assess: the two days' history items and the state item, each from the stage's table
      expect(code).toBe(0);
      expect(seen.lines).toEqual([
        'uptime of cli-stage-history on stage prod, last 2 days (UTC)',
        'no checks recorded in these days',
      ]);
      const calls = dynamo.commandCalls(GetItemCommand);
      expect(calls.map((c) => c.args[0].input.TableName)).toEqual([
        ...Array(3).fill('stepops-prod-state'),
        'ops-state',
        'ops-state',
      ]);
      // In the stage's region (STEPOPS_REGION, else the default), not the hosts' (us-east-1)
      const regions = await Promise.all(calls.map((c) => (c.thisValue as DynamoDBClient).config.region()));
      expect(regions).toEqual([...Array(3).fill('eu-west-1'), 'ap-south-1', 'ap-south-1']);
      await expect(healthHistory({ target: 'cli-local-history', stage: 'prod', env: {} })).rejects.toThrow(
        'target "cli-local-history" declares local hosts: its checks are recorded on this machine (stepops health history cli-local-history, without --stage)',
      );
      await expect(healthHistory({ target: 'cli-stage-history', stage: 'Prod!', env: {} })).rejects.toThrow(
        '--stage "Prod!": expected lowercase letters, digits and dashes',
      );
      await expect(
        healthHistory({ target: 'cli-stage-history', stage: 'prod', local: true, env: {} }),
      ).rejects.toThrow('give either --stage or --local, not both');
      expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(5);
    } finally {
      dynamo.restore();
    }
  });

  it('refuses an unknown target and a target without a health section, starting nothing', async () => {
    register('cli-no-health', false);
    await expect(runHealthOnce({ target: 'no-such' })).rejects.toMatchObject({ name: 'UnknownTargetError' });
    await expect(runHealthOnce({ target: 'cli-no-health' })).rejects.toThrow(
      'target "cli-no-health" has no health section',
    );
  });
});

describe('stepops watch', () => {
  it('runs on the schedule until aborted', async () => {
    // Prepare
    register('cli-watch');
    healthy = true;
    const { lines, output } = capture();
    const controller = new AbortController();
    const watching = watchHealth({
      target: 'cli-watch',
      output: {
        out: (t) => {
          output.out(t);
          if (t.startsWith('health cli-watch')) controller.abort();
        },
        err: output.err,
      },
      signal: controller.signal,
    });

    // Act
    await watching;

    // Assess
    expect(lines[0]).toBe('watching cli-watch: rate(2 minutes) (every 120 s), Ctrl-C to stop');
    expect(lines.filter((l) => l.startsWith('health cli-watch'))).toHaveLength(1);
  });

  it('reads the interval of a rate, and runs a cron every minute', () => {
    expect(scheduleIntervalMs('rate(1 minute)')).toBe(60_000);
    expect(scheduleIntervalMs('rate(5 minutes)')).toBe(300_000);
    expect(scheduleIntervalMs('rate(2 hours)')).toBe(7_200_000);
    expect(scheduleIntervalMs('cron(0 3 * * ? *)')).toBe(60_000);
  });

  it('prints only the header for a target with nothing recorded', () => {
    register('cli-empty');
    expect(healthTable(findTarget('cli-empty'), emptyHealthState('cli-empty'), Date.now())).toBe(
      'probe  state  value  condition  since',
    );
  });
});
