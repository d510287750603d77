/**
 * The demo, end to end, as a user runs it: `stepops demo` in a child process, in a temporary
 * directory (its state in `.stepops/` there, the lab in `.stepops/demo`) with the app on a free
 * port; then the operator's commands it printed, run in that directory as printed, show its runs.
 */
import { spawn, spawnSync } from 'node:child_process';
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

/**
 * The environment of a command a user types: no state directory or lab named. The commands run in
 * a temporary directory, so they find the repository's targets as a user's targets directory.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { STEPOPS_HOME: _home, STEPOPS_DEMO_DIR: _dir, STEPOPS_DEMO_PORT: _port, ...env } = process.env;
  return {
    ...env,
    CI: '1',
    FORCE_COLOR: '0',
    STEPOPS_TARGETS_DIR: path.join(PROJECT_ROOT, 'targets'),
    ...extra,
  };
}

/**
 * Runs `stepops demo` in `cwd` to its end, its lab in `dir` (the default, `.stepops/demo` there,
 * when omitted); `interruptWhen` sends SIGINT once stdout contains that text.
 */
function runDemo(
  cwd: string,
  dir: string | undefined,
  port: number,
  interruptWhen?: string,
  args: string[] = [],
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, 'demo', ...args], {
      cwd,
      env: userEnv({ STEPOPS_DEMO_PORT: String(port), ...(dir ? { STEPOPS_DEMO_DIR: dir } : {}) }),
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

async function outbox(home: string): Promise<Notification[]> {
  const text = await readFile(path.join(home, 'outbox.jsonl'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Notification);
}

/** The commands the demo printed for the operator, as printed (`npx stepops …`). */
function printedCommands(stdout: string): string[] {
  const after = stdout.split("the same runs, with the operator's commands (from this directory):\n")[1] ?? '';
  return after
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('npx stepops '));
}

/** Runs a printed `npx stepops …` command in `cwd` as the user would, through this checkout's bin. */
function runPrinted(cwd: string, command: string) {
  const args = command.replace(/^npx stepops /, '').split(/\s+/);
  const result = spawnSync(NODE, [CLI, ...args], { cwd, env: userEnv(), encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('stepops demo', () => {
  let root: string;
  let home: string;
  let dir: string;
  let port: number;
  let first: Finished;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-e2e-'));
    home = path.join(root, '.stepops');
    dir = path.join(home, 'demo');
    port = await freePort();
    first = await runDemo(root, undefined, port);
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

  it('writes the alerts to the outbox of the state directory: v2 succeeded, v3 rolled back', async () => {
    // Act
    const notifications = await outbox(home);

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
    expect(first.stdout).toContain('$ npx stepops status demo');
    expect(first.stdout).toMatch(/demo\s+deploy\s+—\s+FAILED DeployFailedError v3/);
    expect(first.stdout).toMatch(/demo\s+data\s+(just now|\d+ s ago) \(\d+ B\)\s+file:\/\//);
    expect(first.stdout).toMatch(/demo\s+health probes\s+rate\(1 minute\)\s+~in \d+ s/);
    expect(first.stdout).toContain('$ npx stepops history demo --workflow recover');
    expect(first.stdout).toMatch(/SUCCEEDED .* app-health is down: connection refused\s+stepops health/);
  });

  it('prints the commands that show its runs, and they do, run as printed in its directory', () => {
    // Prepare
    const commands = printedCommands(first.stdout);
    const v3 = /deploy of demo at v3 failed/.test(first.stdout)
      ? /run (demo-[0-9a-f]{16}) · FAILED/.exec(first.stdout.split('Deploy v3')[1] ?? '')?.[1]
      : undefined;
    const approval = /npx stepops approve (demo-[0-9a-f]{16})/.exec(first.stdout)?.[1];

    // Assess: every command it printed works as printed and shows the demo's runs
    expect(commands).toEqual([
      'npx stepops status demo',
      'npx stepops history demo',
      `npx stepops logs ${v3}`,
      'npx stepops backups demo',
      'npx stepops health history demo',
      'npx stepops deploy demo --ref v2   (starts the lab app again; stop it with .stepops/demo/bin/app-ctl.sh stop)',
    ]);
    const status = runPrinted(root, 'npx stepops status demo');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/demo\s+deploy\s+—\s+FAILED DeployFailedError v3/);
    expect(status.stdout).toMatch(/demo\s+backup\s+—\s+SUCCEEDED/);
    const history = runPrinted(root, 'npx stepops history demo');
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain(`${v3}  FAILED DeployFailedError`);
    const logs = runPrinted(root, `npx stepops logs ${v3}`);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain(`deploy ${v3} of demo at v3 (local)`);
    const backups = runPrinted(root, 'npx stepops backups demo');
    expect(backups.code, backups.stderr).toBe(0);
    expect(backups.stdout).toMatch(/data\s+good .* passed/);
    const uptime = runPrinted(root, 'npx stepops health history demo');
    expect(uptime.code, uptime.stderr).toBe(0);
    expect(uptime.stdout).toMatch(/app-health\s+\d+\s+\d+\.\d+%/);
    // The approval it printed while the run waited: the run is found, and has ended since.
    expect(approval).toBeDefined();
    const approve = runPrinted(root, `npx stepops approve ${approval}`);
    expect(approve.stderr).toContain(`run ${approval} has already ended (SUCCEEDED)`);
  });

  it('writes the health and recovery alerts: down, awaiting approval, recovered, up again', async () => {
    // Act
    const notifications = await outbox(home);

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
    const second = await runDemo(root, undefined, port);

    // Assess: what the first demo left of target demo (backups, health state) was forgotten first
    expect(second.code, `stdout:\n${second.stdout}\nstderr:\n${second.stderr}`).toBe(0);
    expect(second.stdout).toMatch(/alerts in the outbox \.stepops\/outbox\.jsonl \(8 from this demo\)/);
    // Both demos' runs are in the history, where the commands read them.
    const history = runPrinted(root, 'npx stepops history demo');
    expect(history.stdout.match(/FAILED DeployFailedError/g)).toHaveLength(2);
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
    const result = await runDemo(root, dir, port, 'WaitForDeploy');
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
    const result = await runDemo(root, dir, port, undefined, ['--only', 'recover']);

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
    const result = await runDemo(root, dir, port, undefined, ['--only', 'deploy,rollback']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'stepops: --only "deploy,rollback": unknown demo part "rollback" (parts: deploy, backup, health, recover, maintain)',
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
    const result = await runDemo(root, dir, port).finally(() => squatter.close());

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stderr).toContain(`port ${port} is taken`);
    expect(await runningAppPid(dir)).toBeUndefined();
  }, 120_000);
});
