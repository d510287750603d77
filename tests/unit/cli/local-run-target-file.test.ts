/**
 * `stepops deploy` of a target named by a path, and the end of a run on SIGTERM: the CLI runs
 * as a child process, as a user (or systemd, or a CI runner) runs it, with its state in a
 * temporary STEPOPS_HOME.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
const CLI = path.join(PROJECT_ROOT, 'cli', 'stepops.ts');

interface Run {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string>): Run {
  const child = spawn(NODE, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CI: '1', FORCE_COLOR: '0', POWERTOOLS_LOG_LEVEL: 'SILENT', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  child.stdin.end();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, done };
}

async function until(condition: () => boolean, what: string, run: Run): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never saw ${what}; output so far:\n${run.output()}`);
}

/** A target file outside targets/, with a step that runs until it is stopped. */
function targetFile(name: string, host: string, marker: string): string {
  return `export default {
  name: '${name}',
  description: 'a target named by its path',
  hosts: { type: 'local', directory: '${host}' },
  deploy: {
    steps: [{ name: 'slow', script: 'touch ${marker}\\nsleep 6', timeout: 60 }],
    rollback: [{ name: 'back', script: 'true', timeout: 10 }],
    healthGate: { probes: ['up'], timeout: 10, interval: 1, successes: 1 },
  },
  health: { schedule: 'rate(5 minutes)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
};
`;
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-run-file-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('stepops deploy <path>', () => {
  it('deploys a target file named by its path, as plan takes one', async () => {
    // Prepare
    const dir = path.join(root, 'quick');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'quick-app.ts');
    await writeFile(
      file,
      targetFile('quick-app', path.join(dir, 'host'), path.join(dir, 'ran')).replace(
        'sleep 6',
        'echo deployed',
      ),
    );

    // Act
    const run = start(['deploy', file, '--ref', 'v1'], { STEPOPS_HOME: path.join(dir, 'home') });
    const { code } = await run.done;

    // Assess
    expect(code, run.output()).toBe(0);
    expect(run.output()).toContain('✔ deploy of quick-app at v1 succeeded');
    expect(existsSync(path.join(dir, 'ran'))).toBe(true);
  }, 60_000);

  it('refuses a file whose target is invalid, with exit 2 and nothing started', async () => {
    // Prepare
    const dir = path.join(root, 'invalid');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'wrong-name.ts');
    await writeFile(file, targetFile('other-name', path.join(dir, 'host'), path.join(dir, 'ran')));

    // Act
    const run = start(['deploy', file, '--ref', 'v1'], { STEPOPS_HOME: path.join(dir, 'home') });
    const { code } = await run.done;

    // Assess
    expect(code, run.output()).toBe(2);
    expect(run.output()).toContain(
      `${file}: name: expected "wrong-name" to match the file name, got "other-name"`,
    );
    expect(existsSync(path.join(dir, 'home'))).toBe(false);
  }, 60_000);
});

describe('stepops deploy on SIGTERM', () => {
  it('aborts the run and releases its lease, as on Ctrl-C', async () => {
    // Prepare
    const dir = path.join(root, 'sigterm');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'slow-app.ts');
    const marker = path.join(dir, 'step-started');
    const home = path.join(dir, 'home');
    await writeFile(file, targetFile('slow-app', path.join(dir, 'host'), marker));
    const lease = path.join(home, 'leases', 'target_slow-app.json');
    const run = start(['deploy', file, '--ref', 'v1'], { STEPOPS_HOME: home });
    await until(() => existsSync(marker), 'the deploy step start', run);
    expect(JSON.parse(await readFile(lease, 'utf8'))).toMatchObject({ key: 'target:slow-app' });

    // Act
    run.child.kill('SIGTERM');
    const { code, signal } = await run.done;

    // Assess
    expect(signal, run.output()).toBeNull();
    expect(code, run.output()).toBe(1);
    expect(run.output()).toContain('stepops: terminated: aborting the run');
    expect(run.output()).toContain('run aborted: released the lease target:slow-app');
    expect(existsSync(lease)).toBe(false);
  }, 60_000);
});
