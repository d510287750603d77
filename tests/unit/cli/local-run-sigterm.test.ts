/**
 * `stepops recover` and `stepops backup` end on SIGTERM as `run deploy` does: the run is
 * aborted, recorded as aborted, and a lease it took is released. The CLI runs as a child process,
 * as a user (or systemd, or a CI runner's cancel) runs it, with its state in a temporary home.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
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
    env: {
      ...process.env,
      CI: '1',
      FORCE_COLOR: '0',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      STEPOPS_STATE_TABLE: '',
      ...env,
    },
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

/** The status each recorded local run ended with. */
async function recordedStatuses(home: string): Promise<string[]> {
  const runs = path.join(home, 'runs');
  const ids = existsSync(runs) ? readdirSync(runs) : [];
  return Promise.all(
    ids.map(
      async (id) => JSON.parse(await readFile(path.join(runs, id, 'run.json'), 'utf8')).status as string,
    ),
  );
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-sigterm-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('stepops recover on SIGTERM', () => {
  it('aborts the run and releases its lease, as deploy does', async () => {
    // Prepare: a runbook whose step runs until it is stopped
    const dir = path.join(root, 'recover');
    const host = path.join(dir, 'host');
    await mkdir(host, { recursive: true });
    const marker = path.join(dir, 'step-started');
    const file = path.join(dir, 'slow-fix.ts');
    await writeFile(
      file,
      `export default {
  name: 'slow-fix',
  description: 'a runbook that takes its time',
  hosts: { type: 'local', directory: '${host}' },
  health: { schedule: 'rate(5 minutes)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
  recovery: {
    'slow-restart': {
      description: 'restart, slowly',
      steps: [{ type: 'script', name: 'restart', script: 'touch ${marker}\\nsleep 8', timeout: 60 }],
    },
  },
};
`,
    );
    const home = path.join(dir, 'home');
    const lease = path.join(home, 'leases', 'target_slow-fix.json');
    const run = start(['recover', file, '--runbook', 'slow-restart'], { STEPOPS_HOME: home });
    await until(() => existsSync(marker), 'the runbook step start', run);
    expect(JSON.parse(await readFile(lease, 'utf8'))).toMatchObject({ key: 'target:slow-fix' });

    // Act
    run.child.kill('SIGTERM');
    const { code, signal } = await run.done;

    // Assess
    expect(signal, run.output()).toBeNull();
    expect(code, run.output()).toBe(1);
    expect(run.output()).toContain('stepops: terminated: aborting the run');
    expect(run.output()).toContain('run aborted: released the lease target:slow-fix');
    expect(existsSync(lease)).toBe(false);
    expect(await recordedStatuses(home)).toEqual(['ABORTED']);
  }, 60_000);
});

describe('stepops backup on SIGTERM', () => {
  it('aborts the run and records it as aborted, instead of dying with the dump half-taken', async () => {
    // Prepare: a dump that runs until it is stopped
    const dir = path.join(root, 'backup');
    const host = path.join(dir, 'host');
    await mkdir(host, { recursive: true });
    const marker = path.join(dir, 'dump-started');
    const file = path.join(dir, 'slow-dump.ts');
    await writeFile(
      file,
      `export default {
  name: 'slow-dump',
  description: 'a dump that takes its time',
  hosts: { type: 'local', directory: '${host}' },
  backup: [
    {
      name: 'data',
      type: 'dump',
      script: 'touch ${marker}\\nsleep 8\\necho done > "$STEPOPS_DUMP_FILE"',
      timeout: 60,
      bucket: 'slow-backups',
      schedule: 'rate(1 day)',
      retention: { count: 1 },
    },
  ],
};
`,
    );
    const home = path.join(dir, 'home');
    const run = start(['backup', file], { STEPOPS_HOME: home });
    await until(() => existsSync(marker), 'the dump start', run);

    // Act
    run.child.kill('SIGTERM');
    const { code, signal } = await run.done;

    // Assess
    expect(signal, run.output()).toBeNull();
    expect(code, run.output()).toBe(1);
    expect(run.output()).toContain('stepops: terminated: aborting the run');
    expect(await recordedStatuses(home)).toEqual(['ABORTED']);
  }, 60_000);
});
