/**
 * A rolling restart behind the lab's load balancer, for real: two lab apps (lab/setup.ts, each its
 * own process and port), the local load balancer's membership file, and in front of them a small
 * HTTP proxy that routes each request to a member the load balancer finds healthy, as an ALB does
 * (no member: 503; a member that does not answer: 502). A client keeps asking through the proxy
 * while the runbook restarts the apps; not one answer may be a 5xx.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabPaths, runningAppPid, setupLab, startLabApp, stopLabApp } from '../../lab/setup.ts';
import { commandRunnerFor, hostDirectoryFor, probeRunnerFor } from '../../shared/all-drivers.ts';
import { registerTarget } from '../../shared/config/registry.ts';
import { LocalLoadBalancer } from '../../shared/drivers/local/local-load-balancer.ts';
import type { HostRef } from '../../shared/drivers/ports.ts';
import { recoverEngine } from './recover.fixtures.ts';

const GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/lab/0123456789abcdef';

let root: string;
let home: string;
let labs: LabPaths[] = [];
let ports: number[] = [];
let proxy: Server;
let proxyPort: number;

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const hostOf = (lab: LabPaths): HostRef => ({ kind: 'local', id: `local:${lab.host}`, directory: lab.host });

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-rc-rolling-'));
  home = path.join(root, 'home');
  process.env.STEPOPS_HOME = home;
  for (const name of ['web-1', 'web-2']) {
    const port = await freePort();
    const lab = await setupLab({ dir: path.join(root, name), port });
    await startLabApp(lab);
    labs.push(lab);
    ports.push(port);
  }
  const backends = new Map(labs.map((lab, i) => [hostOf(lab).id, ports[i] as number]));
  const lb = new LocalLoadBalancer({ home: () => home });
  let turn = 0;
  // The proxy: routes to the members the load balancer finds healthy, in turn.
  proxy = createServer((req, res) => {
    void (async () => {
      const members = await lb.health(GROUP, labs.map(hostOf));
      const healthy = members.filter((m) => m.state === 'healthy');
      if (healthy.length === 0) {
        res.writeHead(503).end('no healthy target');
        return;
      }
      const member = healthy[turn++ % healthy.length] as (typeof healthy)[number];
      const forward = httpRequest(
        { host: '127.0.0.1', port: backends.get(member.hostId), path: req.url, method: req.method },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end('bad gateway');
      });
      forward.end();
    })();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as AddressInfo).port;
  registerTarget({
    name: 'rc-rolling',
    description: 'two lab apps behind the local load balancer',
    hosts: { type: 'local', directory: labs.map((l) => l.host) },
    deploy: {
      steps: [{ name: 'noop', script: 'true', timeout: 10 }],
      rollback: [{ name: 'noop', script: 'true', timeout: 10 }],
      healthGate: { probes: ['app'], timeout: 20, interval: 1, successes: 1 },
      loadBalancer: { targetGroups: [GROUP], drainTimeout: 30, healthyTimeout: 30 },
    },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [
        {
          name: 'app',
          type: 'command',
          // The app answers on its port (lab.env beside the host checkout).
          script: '. ../lab.env && exec 3<>"/dev/tcp/127.0.0.1/${LAB_PORT}"',
          timeout: 5,
        },
      ],
    },
    recovery: {
      'restart-app': {
        description: 'restart the app on every host',
        steps: [
          {
            type: 'script',
            name: 'restart',
            script:
              'if [ -e fail-restart ]; then echo "cannot restart" >&2; exit 1; fi\nif [ -e hang-restart ]; then while [ -e hang-restart ]; do sleep 0.1; done; exit 1; fi\nbash ../bin/app-ctl.sh restart',
            timeout: 60,
          },
        ],
      },
    },
  });
});
afterAll(async () => {
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  for (const lab of labs) await stopLabApp(lab.dir);
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  labs = [];
  ports = [];
});

/** Both hosts in the target group and healthy, as before any run. */
async function bothRegistered(): Promise<void> {
  await new LocalLoadBalancer({ home: () => home }).register(GROUP, labs.map(hostOf));
}

async function restart() {
  const { engine } = recoverEngine({
    home,
    commands: (t) => commandRunnerFor(t),
    hosts: (t) => hostDirectoryFor(t),
    probes: (t) => probeRunnerFor(t),
    loadBalancer: () => new LocalLoadBalancer({ home: () => home }),
  });
  return engine.start(
    { target: 'rc-rolling', runbook: 'restart-app', reason: 'vitest' },
    { executionName: `rc-rolling-${Date.now()}` },
  ).result;
}

/** Asks through the proxy, one request after the other, until `until` settles; counts the answers by status. */
async function traffic<T>(until: Promise<T>): Promise<{ result: T; statuses: Map<number, number> }> {
  const statuses = new Map<number, number>();
  let done = false;
  const finished = until.finally(() => {
    done = true;
  });
  const client = (async () => {
    while (!done) {
      const status = await new Promise<number>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/health' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end();
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  })();
  const result = await finished;
  await client;
  return { result, statuses };
}

describe('a rolling restart behind the load balancer', () => {
  it('restarts one host at a time, drained and registered back: no request through the load balancer fails', async () => {
    // Prepare
    await bothRegistered();
    const before = await Promise.all(labs.map((l) => runningAppPid(l.dir)));

    // Act
    const { result, statuses } = await traffic(restart());

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    const after = await Promise.all(labs.map((l) => runningAppPid(l.dir)));
    for (const [i, pid] of after.entries()) expect(pid, `host ${i + 1} restarted`).not.toBe(before[i]);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    const failed = [...statuses].filter(([s]) => s === 0 || s >= 500).reduce((a, [, n]) => a + n, 0);
    expect(total).toBeGreaterThan(10);
    expect(failed, JSON.stringify([...statuses])).toBe(0);
    const members = await new LocalLoadBalancer({ home: () => home }).health(GROUP, labs.map(hostOf));
    expect(members.map((m) => m.state)).toEqual(['healthy', 'healthy']);
  });

  it('a host whose restart fails is registered back, and the run says so', async () => {
    // Prepare
    await bothRegistered();
    const second = labs[1] as LabPaths;
    await writeFile(path.join(second.host, 'fail-restart'), '');

    // Act
    const result = await restart();

    // Assess
    await rm(path.join(second.host, 'fail-restart'));
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RecoveryStepFailedError');
    expect(result.cause).toContain(`failed on host ${hostOf(second).id}`);
    expect(result.cause).toContain(`${hostOf(second).id} registered back in the load balancer`);
    const members = await new LocalLoadBalancer({ home: () => home }).health(GROUP, labs.map(hostOf));
    expect(members.map((m) => m.state)).toEqual(['healthy', 'healthy']);
  });
});

describe('a revert across a fleet', () => {
  const revertHosts = () => [path.join(root, 'revert-1'), path.join(root, 'revert-2')];
  beforeAll(() => {
    registerTarget({
      name: 'rc-revert',
      description: 'two hosts that revert together',
      hosts: { type: 'local', directory: revertHosts() },
      recovery: {
        revert: {
          description: 'return every host to the release the last deploy replaced',
          steps: [
            {
              type: 'script',
              name: 'revert',
              script: 'printf "%s\\n" "${STEPOPS_AGREED:-$(cat .stepops-previous)}" > release',
              timeout: 30,
              agree: { before: 'cat .stepops-previous', after: 'cat release' },
            },
          ],
        },
      },
    });
  });

  async function revertWith(previous: [string, string]) {
    for (const [i, dir] of revertHosts().entries()) {
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '.stepops-previous'), `${previous[i]}\n`);
      await writeFile(path.join(dir, 'release'), 'v3\n');
    }
    const { engine } = recoverEngine({
      home,
      commands: (t) => commandRunnerFor(t),
      hosts: (t) => hostDirectoryFor(t),
      probes: (t) => probeRunnerFor(t),
    });
    return engine.start(
      { target: 'rc-revert', runbook: 'revert', reason: 'vitest' },
      { executionName: `rc-revert-${Date.now()}` },
    ).result;
  }
  const releases = () => Promise.all(revertHosts().map((d) => readFile(path.join(d, 'release'), 'utf8')));

  it('every host returns to the one release they agree on, and the run checks they run it', async () => {
    // Act
    const result = await revertWith(['v2', 'v2']);

    // Assess
    expect(result.cause ?? '').toBe('');
    expect(result.status).toBe('SUCCEEDED');
    expect(await releases()).toEqual(['v2\n', 'v2\n']);
  });

  it('hosts that disagree on the release to return to fail the step before any host changes', async () => {
    // Act
    const result = await revertWith(['v2', 'v1']);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.cause).toContain('the hosts disagree before it (cat .stepops-previous)');
    expect(result.cause).toContain(': v2; ');
    expect(result.cause).toContain(': v1');
    expect(result.cause).toContain('nothing was changed');
    expect(await releases()).toEqual(['v3\n', 'v3\n']);
  });
});

describe('a rolling restart that is stopped', () => {
  it('says which hosts it left out of the load balancer', async () => {
    // Prepare: the first host's restart hangs, so that the run is stopped while it is drained.
    await bothRegistered();
    const first = labs[0] as LabPaths;
    await writeFile(path.join(first.host, 'hang-restart'), '');
    const { runRecover } = await import('../../cli/commands/recover.ts');
    const lines: string[] = [];
    const lb = new LocalLoadBalancer({ home: () => home });

    // Act
    const report = await runRecover({
      target: 'rc-rolling',
      runbook: 'restart-app',
      reason: 'vitest',
      output: { out: (t) => lines.push(t), err: (t) => lines.push(t) },
      interactive: false,
      onStart: (execution) => {
        void (async () => {
          for (;;) {
            const [member] = await lb.health(GROUP, [hostOf(first)]);
            if (member?.state === 'unused') break;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          // The host is out and its restart runs: stop the run as Ctrl-C does.
          await new Promise((resolve) => setTimeout(resolve, 200));
          execution.abort();
        })();
      },
    });

    // Assess (the hung script ends once its file is gone)
    await rm(path.join(first.host, 'hang-restart'));
    expect(report.exitCode).toBe(1);
    expect(lines.join('\n')).toContain(
      `still out of the load balancer: ${hostOf(first).id} (unused in ${GROUP})`,
    );
  });
});
