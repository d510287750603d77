/**
 * Probe → runbook and fleet-wide probes on the local engine, with the real handlers: a two-host
 * target (two local host directories, real bash) with a fleet-wide queue-latency probe (threshold
 * 60), a per-host service probe and an HTTP probe, and two runbooks. Raising the latency requests
 * only its runbook and alerts once; stopping the service on one host requests the other runbook
 * and names that host; the fleet-wide probe runs on a healthy host.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { healthHistory } from '../../cli/commands/health.ts';
import { createLocalHealthEngine } from '../../functions/index.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import type { Notification, RecoveryRequest } from '../../shared/drivers/ports.ts';
import type { HealthRunSummary } from '../../shared/health/contracts.ts';

describe('probe → runbook and fleet-wide probes on the local engine', () => {
  let server: Server;
  let base: string;
  let root: string;
  const previousHome = process.env.STEPOPS_HOME;
  const engine = createLocalHealthEngine();

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-health-routing-'));
    process.env.STEPOPS_HOME = path.join(root, 'home');
    server = createServer((_req, res) => res.writeHead(200).end('ok'));
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

  async function setUp(name: string) {
    const dir = path.join(root, name);
    const hostA = path.join(dir, 'a');
    const hostB = path.join(dir, 'b');
    for (const host of [hostA, hostB]) {
      await mkdir(host, { recursive: true });
      await writeFile(path.join(host, 'running'), 'yes\n');
    }
    const latency = path.join(dir, 'latency');
    await writeFile(latency, '12\n');
    registerTarget({
      name,
      description: 'two hosts, a fleet-wide latency probe and two runbooks',
      hosts: { type: 'local', directory: [hostA, hostB] },
      health: {
        schedule: 'rate(1 minute)',
        failureThreshold: 2,
        successThreshold: 1,
        probes: [
          {
            name: 'queue-latency',
            type: 'command',
            scope: 'fleet',
            script: `cat ${latency}`,
            outputCompare: '< 60',
            runbook: 'flush-queue',
            timeout: 10,
          },
          { name: 'service', type: 'command', script: 'test -f running', timeout: 10 },
          { name: 'site', type: 'http', url: `${base}/`, timeout: 5 },
        ],
        groups: { web: { probes: ['service', 'site'], runbook: 'restart-service' } },
        runbooks: { 'flush-queue': { cooldownMinutes: 60, maxPerDay: 2 } },
      },
      recovery: {
        'flush-queue': {
          description: 'flush the queue',
          steps: [{ type: 'script', name: 'flush', script: 'true', timeout: 30 }],
        },
        'restart-service': {
          description: 'restart the service',
          steps: [{ type: 'script', name: 'restart', script: 'true', timeout: 30 }],
        },
      },
    });
    return { hostA, hostB, latency };
  }

  async function jsonLines<T>(file: string): Promise<T[]> {
    const text = await readFile(path.join(root, 'home', file), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as T);
  }

  async function check(target: string, name: string): Promise<HealthRunSummary> {
    const result = await engine.start({ target }, { executionName: name }).result;
    expect(result.status, JSON.stringify(result)).toBe('SUCCEEDED');
    return result.output as HealthRunSummary;
  }

  it('a high latency requests only its runbook and alerts once; a stopped service on one host requests the other, naming the host', async () => {
    // Prepare
    const { hostA, hostB, latency } = await setUp('routing');

    // Act: the latency rises for three rounds
    const calm = await check('routing', 'r-1');
    await writeFile(latency, '95\n');
    const rising = [
      await check('routing', 'r-2'),
      await check('routing', 'r-3'),
      await check('routing', 'r-4'),
    ];
    await writeFile(latency, '10\n');
    await check('routing', 'r-5');
    // Act: the service stops on host b
    await rm(path.join(hostB, 'running'));
    const stopped = [await check('routing', 'r-6'), await check('routing', 'r-7')];

    // Assess: the fleet-wide probe ran once per round, on one host
    expect(calm.fleetHost).toBe(`local:${hostA}`);
    expect(calm.up).toBe(1 + 2 + 1);
    const latencyDown = rising[1]!;
    expect(latencyDown.events.map((e) => [e.kind, e.probe, e.host])).toEqual([
      ['down', 'queue-latency', undefined],
    ]);
    expect(latencyDown.recoveries?.map((r) => [r.runbook, r.started])).toEqual([['flush-queue', true]]);
    expect(rising[2]!.recoveries?.map((r) => [r.runbook, r.started])).toEqual([['flush-queue', false]]);
    // Assess: the service down on host b requests the other runbook, and names b
    const serviceDown = stopped[1]!;
    expect(serviceDown.events.map((e) => [e.kind, e.probe, e.host])).toEqual([
      ['down', 'service', `local:${hostB}`],
    ]);
    expect(serviceDown.recoveries?.map((r) => [r.runbook, r.started])).toEqual([['restart-service', true]]);
    // Assess: the fleet probe moved off the failing host (a has no failing probe: it stays there)
    expect(serviceDown.fleetHost).toBe(`local:${hostA}`);
    const requests = await jsonLines<RecoveryRequest>('recoveries.jsonl');
    const ours = requests.filter((r) => r.target === 'routing');
    expect(ours.map((r) => r.runbook)).toEqual(['flush-queue', 'restart-service']);
    expect(ours[0]?.reason).toMatch(/^queue-latency is down: on local:.*95/);
    expect(ours[1]?.reason).toContain(`service on local:${hostB} is down`);
    const alerts = (await jsonLines<Notification>('outbox.jsonl')).filter((n) => n.target === 'routing');
    expect(alerts.filter((n) => n.summary.includes('queue-latency is down'))).toHaveLength(1);
    expect(alerts.filter((n) => n.summary.includes('queue-latency'))).toHaveLength(2);
    const serviceAlert = alerts.find((n) => n.summary.includes('service on'));
    expect(serviceAlert?.summary).toContain(`service on local:${hostB} is down`);
    expect(serviceAlert?.summary).toContain('started recovery runbook restart-service');
    expect(serviceAlert?.summary).not.toContain('flush-queue');
    // Assess: the uptime history of the day, per probe (and host)
    const printed: string[] = [];
    const code = await healthHistory({
      target: 'routing',
      days: 1,
      output: { out: (t) => void printed.push(t), err: (t) => void printed.push(t) },
    });
    expect(code).toBe(0);
    const table = printed.join('\n');
    expect(table).toMatch(/^day\s+probe\s+checks\s+uptime\s+p50\s+p95\s+p99$/m);
    expect(table).toMatch(/\d{4}-\d\d-\d\d\s+queue-latency\s+7\s+57\.14%/);
    expect(table).toMatch(
      new RegExp(`service@local:${hostB.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+7\\s+71\\.43%`),
    );
    expect(table).toMatch(/site\s+7\s+100%\s+≤\d+ ms/);
  });

  it('does not count a lease whose run died as a maintenance', async () => {
    // Prepare: a lease held by a run whose record says RUNNING, in a process that has exited
    const { hostB } = await setUp('dead-lease');
    await rm(path.join(hostB, 'running'));
    const dead = spawnSync('true').pid;
    const home = path.join(root, 'home');
    await mkdir(path.join(home, 'leases'), { recursive: true });
    await writeFile(
      path.join(home, 'leases', 'target_dead-lease.json'),
      JSON.stringify({
        key: 'target:dead-lease',
        owner: 'dead-lease-0123456789abcdef',
        expiresAt: Date.now() / 1000 + 600,
      }),
    );
    await mkdir(path.join(home, 'runs', 'dead-lease-0123456789abcdef'), { recursive: true });
    const record = path.join(home, 'runs', 'dead-lease-0123456789abcdef', 'run.json');
    await writeFile(
      record,
      JSON.stringify({ runId: 'dead-lease-0123456789abcdef', status: 'RUNNING', pid: dead }),
    );

    // Act
    await check('dead-lease', 'd-1');
    const down = await check('dead-lease', 'd-2');
    // the same lease, its run alive (this process)
    await writeFile(
      record,
      JSON.stringify({ runId: 'dead-lease-0123456789abcdef', status: 'RUNNING', pid: process.pid }),
    );
    const held = await check('dead-lease', 'd-3');

    // Assess
    expect(down.maintenance).toBeUndefined();
    expect(down.events.map((e) => [e.kind, e.probe, e.alerted])).toEqual([['down', 'service', true]]);
    expect(held.maintenance).toBe(
      'run dead-lease-0123456789abcdef (a deploy, recovery or maintenance of dead-lease)',
    );
  });

  it('runs the fleet-wide probe on a host whose own probes pass', async () => {
    // Prepare: host a's service is stopped from the start
    const { hostA, hostB } = await setUp('fleet-choice');
    await rm(path.join(hostA, 'running'));

    // Act
    const first = await check('fleet-choice', 'f-1');
    const second = await check('fleet-choice', 'f-2');

    // Assess: the first round knows nothing yet (a, the first); then b, the healthy host
    expect(first.fleetHost).toBe(`local:${hostA}`);
    expect(second.fleetHost).toBe(`local:${hostB}`);
  });
});
