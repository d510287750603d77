/**
 * `stepops deploy`: exit 2 on bad input with nothing started, exit 1 on a failed run, exit 0 on
 * success. The CLI runs as a child process (as a user runs it) with its state in a temporary
 * STEPOPS_HOME and the demo target pointed at a temporary lab.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDeploy } from '../../../cli/commands/deploy.ts';
import type { Output } from '../../../cli/output.ts';
import { type LabPaths, setupLab, startLabApp, stopLabApp } from '../../../lab/setup.ts';
import { labTarget } from '../../../lab/target.ts';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import type { Execution } from '../../../shared/engine/index.ts';
import { freePort } from '../../helpers/net.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
const CLI = path.join(PROJECT_ROOT, 'cli', 'stepops.ts');

function stepops(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CI: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function capture(): Output & { text: () => string } {
  const lines: string[] = [];
  return { out: (t) => lines.push(t), err: (t) => lines.push(t), text: () => lines.join('\n') };
}

describe('stepops deploy', () => {
  let root: string;
  let home: string;
  let lab: LabPaths;
  let env: Record<string, string>;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-run-'));
    home = path.join(root, 'home');
    const port = await freePort();
    lab = await setupLab({ dir: path.join(root, 'lab'), port });
    await startLabApp(lab);
    env = { STEPOPS_HOME: home, STEPOPS_DEMO_DIR: lab.dir, STEPOPS_DEMO_PORT: String(port) };
  });

  afterAll(async () => {
    await stopLabApp(lab.dir);
    await rm(root, { recursive: true, force: true });
  });

  afterEach(() => clearRegisteredTargets());

  it.each([
    ['an unknown target', ['deploy', 'nope', '--ref', 'v2'], /unknown target "nope"/],
    [
      'a ref a shell would read as more',
      ['deploy', 'demo', '--ref', 'v2;touch /tmp/pwned'],
      /is not a valid ref/,
    ],
    ['a ref that reads as an option', ['deploy', 'demo', '--ref=--upload-pack=evil'], /is not a valid ref/],
    ['no ref', ['deploy', 'demo'], /needs --ref/],
  ])('exits 2 on %s and starts nothing', async (_case, args, message) => {
    // Act
    const result = await stepops(args, env);

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toContain('timeline');
    expect(existsSync(path.join(home, 'commands'))).toBe(false);
    expect(existsSync(path.join(home, 'outbox.jsonl'))).toBe(false);
  });

  it('returns exit code 2 for an invalid target, listing its problems, and starts nothing', async () => {
    // Prepare
    registerTarget({
      name: 'broken',
      description: 'an invalid target',
      hosts: { type: 'local', directory: path.join(root, 'nowhere') },
      deploy: {
        steps: [{ name: 'go', script: 'true', timeout: 0 }],
        rollback: [{ name: 'back', script: 'true', timeout: 10 }],
        healthGate: { probes: ['missing'], timeout: 5 },
      },
    });
    const output = capture();

    // Act
    const report = await runDeploy({ target: 'broken', ref: 'v2', output });

    // Assess
    expect(report.exitCode).toBe(2);
    expect(output.text()).toContain('deploy.steps[0].timeout');
    expect(output.text()).toContain('deploy.healthGate.probes[0]: no health probe named "missing"');
    expect(existsSync(path.join(home, 'commands'))).toBe(false);
  });

  it('releases the lease of a run aborted at its health gate, so that the next deploy is not locked out', async () => {
    // Prepare
    const saved = process.env.STEPOPS_HOME;
    process.env.STEPOPS_HOME = home;
    registerTarget(labTarget({ name: 'lab-abort', dir: lab.dir, port: Number(env.STEPOPS_DEMO_PORT) }));
    let execution: Execution | undefined;
    const output = capture();

    // Act
    const aborted = await runDeploy({
      target: 'lab-abort',
      ref: 'v2',
      output,
      onStart: (started) => {
        execution = started;
      },
      onEvent: (event) => {
        // At the gate: the deploy command has ended, so the next run does not race it.
        if (event.kind === 'state-entered' && event.state === 'CheckHealth') execution?.abort();
      },
    });
    const next = await runDeploy({ target: 'lab-abort', ref: 'v2', output }).finally(() => {
      process.env.STEPOPS_HOME = saved;
    });

    // Assess
    expect(aborted).toMatchObject({ exitCode: 1, error: 'States.Aborted' });
    expect(output.text()).toContain('run aborted: released the lease target:lab-abort');
    expect(next.exitCode, output.text()).toBe(0);
  });

  it('exits 1 when the deploy fails and is rolled back, naming the error and the failed step', async () => {
    // Act: v9 is a valid ref that does not exist, so the checkout step fails on the host.
    const result = await stepops(['deploy', 'demo', '--ref', 'v9', '--reason', 'exit code test'], env);

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toContain('✖ deploy of demo at v9 failed: DeployFailedError');
    expect(result.stdout).toMatch(/\d+ state transitions\W+\d+ Lambda invocations/);
    expect(result.stdout).toContain('checkout failed');
    const outbox = (await readFile(path.join(home, 'outbox.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(outbox.at(-1)!)).toMatchObject({ ref: 'v9', outcome: 'rolled-back' });
  });

  it('exits 0 when the deploy succeeds, with progress per state and the timeline', async () => {
    // Act
    const result = await stepops(['deploy', 'demo', '--ref', 'v2'], env);

    // Assess
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/▸ PlanDeploy\n\s+✔ PlanDeploy\s+\d+/);
    expect(result.stdout).toContain('✔ deploy of demo at v2 succeeded');
    expect(result.stdout).toMatch(/\d+ state transitions\W+\d+ Lambda invocations/);
  });
});
