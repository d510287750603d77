/**
 * The operator's commands through the real `stepops` binary: registered, `--version`, and their
 * exits without AWS set up (exit 2, saying what to set) and for bad arguments.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordLocalRun } from '../../../cli/runs/local.ts';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');
const home = mkdtempSync(path.join(tmpdir(), 'stepops-ops-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Runs stepops with no AWS credentials or region anywhere it could find them. */
function stepops(...args: string[]) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    STEPOPS_HOME: path.join(home, '.stepops'),
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_COLOR: '1',
  };
  const result = spawnSync(NODE, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('stepops operator commands', () => {
  it('prints the package version', () => {
    // Prepare
    const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };

    // Act
    const result = stepops('--version');

    // Assess
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('lists every operator command in --help', () => {
    // Act
    const { code, stdout } = stepops('--help');

    // Assess
    expect(code).toBe(0);
    for (const command of ['deploy', 'follow', 'status', 'history', 'logs', 'rollback', 'graph']) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('says which variables to set when a stage is named without credentials, and exits 2', () => {
    // Act: the region is the stages' own (STEPOPS_REGION, else eu-west-1); the credentials are missing
    const { code, stderr } = stepops('status', '--stage', 'prod');

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^stepops: no usable AWS credentials \(\w+\): set AWS_PROFILE/m);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it('reads local runs by default: an empty history, and exit 2 for a run that is not there', () => {
    // Act
    const empty = stepops('history', 'demo');
    const missing = stepops('logs', 'demo-0000000000000000');
    const badLimit = stepops('history', 'demo', '--limit', 'lots');

    // Assess
    expect(empty).toMatchObject({ code: 0, stdout: 'no deploy runs of demo recorded locally\n' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('stepops: no run "demo-0000000000000000" recorded locally\n');
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toBe('stepops: --limit lots: expected a whole number from 1 to 1000\n');
  });

  it('detaches on Ctrl-C while following a running run, says so, exits 130 and leaves the run alone', async () => {
    // Prepare: a local run in progress, recorded by this (living) process
    const saved = process.env.STEPOPS_HOME;
    process.env.STEPOPS_HOME = path.join(home, '.stepops');
    const recording = recordLocalRun('deploy', { target: 'demo', ref: 'v2' });
    recording.event({ kind: 'execution-started', at: Date.now(), elapsedMs: 0, depth: 0 });
    recording.event({
      kind: 'state-entered',
      at: Date.now(),
      elapsedMs: 1,
      depth: 0,
      state: 'PlanDeploy',
      stateType: 'Task',
    });
    process.env.STEPOPS_HOME = saved;

    // Act
    const child = spawn(NODE, [CLI, 'follow', recording.runId], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, HOME: home, STEPOPS_HOME: path.join(home, '.stepops'), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        if (stdout.includes('▸ PlanDeploy')) child.kill('SIGINT');
      });
      child.once('close', resolve);
    });

    // Assess
    expect(code).toBe(130);
    expect(stdout).toContain(`following deploy ${recording.runId} of demo at v2 (local)`);
    expect(stderr).toContain(
      `stepops: detached from ${recording.runId}: the run goes on (attach again: stepops follow ${recording.runId})`,
    );
    const summary = JSON.parse(
      readFileSync(path.join(home, '.stepops', 'runs', recording.runId, 'run.json'), 'utf8'),
    );
    expect(summary.status).toBe('RUNNING');
  }, 60_000);
});
