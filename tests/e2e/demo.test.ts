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
function runDemo(dir: string, port: number, interruptWhen?: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, 'demo'], {
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
