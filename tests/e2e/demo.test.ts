/**
 * The demo, end to end, as a user runs it: `node cli/stepops.ts demo` in a child process, with the
 * lab in a temporary directory and the app on a free port.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appHealth, runningAppPid, stopLabApp } from '../../lab/setup.ts';
import { PROJECT_ROOT } from '../../shared/config/load.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import { freePort } from '../helpers/net.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
const CLI = path.join(PROJECT_ROOT, 'cli', 'stepops.ts');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `stepops demo` to its end; `interruptWhen` sends SIGINT once stdout contains that text. */
function runDemo(dir: string, port: number, interruptWhen?: string, args: string[] = []): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, 'demo', ...args], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        STEPOPS_DEMO_DIR: dir,
        STEPOPS_DEMO_PORT: String(port),
        CI: '1',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (interruptWhen && !interrupted && stdout.includes(interruptWhen)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function outbox(dir: string): Promise<Notification[]> {
  const text = await readFile(path.join(dir, 'outbox.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Notification);
}

describe('stepops demo', () => {
  let root: string;
  let dir: string;
  let port: number;
  let first: Finished;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-e2e-'));
    dir = path.join(root, 'demo');
    port = await freePort();
    first = await runDemo(dir, port);
  }, 180_000);

  afterAll(async () => {
    await stopLabApp(dir);
    await rm(root, { recursive: true, force: true });
  });

  it('exits 0 with v2 deployed and v3 rolled back', () => {
    // Assess
    expect(first.code, `stdout:\n${first.stdout}\nstderr:\n${first.stderr}`).toBe(0);
    expect(first.stdout).toContain('✔ demo behaved as expected: v2 is live, v3 was rolled back');
    expect(first.stdout).toMatch(/deploy of demo at v2 succeeded/);
    expect(first.stdout).toMatch(/deploy of demo at v3 failed: DeployFailedError/);
    expect(first.stdout).toMatch(/\d+ state transitions\W+\d+ Lambda invocations/);
  });

  it('writes the alerts to the outbox in its directory: v2 succeeded, v3 rolled back', async () => {
    // Act
    const notifications = await outbox(dir);

    // Assess
    expect(notifications).toContainEqual(
      expect.objectContaining({ target: 'demo', workflow: 'deploy', ref: 'v2', outcome: 'succeeded' }),
    );
    expect(notifications).toContainEqual(
      expect.objectContaining({
        target: 'demo',
        workflow: 'deploy',
        ref: 'v3',
        outcome: 'rolled-back',
        error: 'DeployFailedError',
      }),
    );
  });

  it('ran the real deploy and rollback: the host is back on v2', async () => {
    // Act
    const previousGood = await readFile(path.join(dir, 'run', 'previous-good'), 'utf8');
    const log = await readFile(path.join(dir, 'run', 'app.log'), 'utf8');

    // Assess
    expect(previousGood.trim().split('\n')[1]).toMatch(/^[0-9a-f]{40}$/);
    expect(log).toContain('lab app v1 listening');
    expect(log).toContain('lab app v2 listening');
    expect(log).toContain('lab app v3 listening');
    expect(
      log
        .trimEnd()
        .split('\n')
        .filter((line) => line.includes('listening'))
        .at(-1),
    ).toContain('v2');
  });

  it('tells the whole story: backups with a restore test, the app down, alerted, recovered on approval, alerted again', () => {
    // Assess: each part's outcome, then the lab as status and history show it
    expect(first.stdout).toContain(
      '✔ demo behaved as expected: v2 is live, v3 was rolled back; backups taken, pruned and restore-tested; the app went down, was alerted, recovered on approval, and the recovery was alerted; a recovery by hand brought the app back',
    );
    expect(first.stdout).toMatch(/demo: approving run (demo-[0-9a-f]{16})/);
    expect(first.stdout).toContain('$ stepops status demo');
    expect(first.stdout).toMatch(/demo\s+deploy\s+—\s+FAILED DeployFailedError v3/);
    expect(first.stdout).toMatch(/demo\s+data\s+(just now|\d+ s ago) \(\d+ B\)\s+file:\/\//);
    expect(first.stdout).toMatch(/demo\s+health probes\s+rate\(1 minute\)\s+~in \d+ s/);
    expect(first.stdout).toContain('$ stepops history demo --workflow recover');
    expect(first.stdout).toMatch(/SUCCEEDED .* app-health is down: connection refused\s+stepops health/);
  });

  it('writes the health and recovery alerts: down, awaiting approval, recovered, up again', async () => {
    // Act
    const notifications = await outbox(dir);

    // Assess
    const health = notifications.filter((n) => n.workflow === 'health' || n.workflow === 'recover');
    // One health alert per round: app-health and app-process change together.
    expect(health.map((n) => `${n.workflow} ${n.outcome}`)).toEqual([
      'health failed',
      'recover awaiting-approval',
      'recover succeeded',
      'health succeeded',
      'recover succeeded',
    ]);
  });

  it('stops the app it started: no pid, port free', async () => {
    // Assess
    expect(await runningAppPid(dir)).toBeUndefined();
    expect(existsSync(path.join(dir, 'run', 'app.pid'))).toBe(false);
    expect(await appHealth(port, 500)).toBeUndefined();
  });

  it('runs again in the same directory', async () => {
    // Act
    const second = await runDemo(dir, port);

    // Assess
    expect(second.code, `stdout:\n${second.stdout}\nstderr:\n${second.stderr}`).toBe(0);
    expect((await outbox(dir)).filter((n) => n.ref === 'v3')).toHaveLength(1);
    expect(await appHealth(port, 500)).toBeUndefined();
  }, 180_000);
});

describe('stepops demo when things go wrong', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-e2e-wrong-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stops the app and exits 130 on Ctrl-C in the middle of a deploy', async () => {
    // Prepare
    const dir = path.join(root, 'interrupted');
    const port = await freePort();

    // Act: interrupt while the v2 deploy script restarts the app.
    const result = await runDemo(dir, port, 'WaitForDeploy');
    await stopLabApp(dir).then((pid) => expect(pid, 'the demo left the app running').toBeUndefined());

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(130);
    expect(result.stderr).toContain('interrupted');
    expect(await appHealth(port, 500)).toBeUndefined();
  }, 120_000);

  it('runs only the parts --only names', async () => {
    // Prepare
    const dir = path.join(root, 'only-recover');
    const port = await freePort();

    // Act
    const result = await runDemo(dir, port, undefined, ['--only', 'recover']);

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('✔ demo behaved as expected: a recovery by hand brought the app back');
    expect(result.stdout).toContain('2. Kill the app, then recover it by hand');
    expect(result.stdout).not.toContain('Deploy v2');
    expect(result.stdout).not.toContain('Back up the lab data');
    expect(await appHealth(port, 500)).toBeUndefined();
  }, 120_000);

  it('refuses an unknown part with exit 2, naming the parts, before setting anything up', async () => {
    // Prepare
    const dir = path.join(root, 'only-unknown');
    const port = await freePort();

    // Act
    const result = await runDemo(dir, port, undefined, ['--only', 'deploy,rollback']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'stepops: --only "deploy,rollback": unknown demo part "rollback" (parts: deploy, backup, health, recover)',
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('exits 1 and leaves nothing running when the port is taken', async () => {
    // Prepare
    const dir = path.join(root, 'port-taken');
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));

    // Act
    const result = await runDemo(dir, port).finally(() => squatter.close());

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain(`port ${port} is taken`);
    expect(await runningAppPid(dir)).toBeUndefined();
  }, 120_000);
});
