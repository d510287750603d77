/**
 * The demo target's scripts, run for real with bash against a lab: checkout, restart, rollback to
 * the commit recorded by the same run, and no rollback on an earlier run's record.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appHealth, type LabPaths, setupLab, startLabApp, stopLabApp } from '../../../lab/setup.ts';
import { labTarget } from '../../../lab/target.ts';
import { parseTarget } from '../../../shared/config/load.ts';
import { planDeploy } from '../../../shared/deploy/plan.ts';
import demo from '../../../targets/demo.ts';
import { freePort } from '../../helpers/net.ts';
import { shellcheck } from '../../helpers/shellcheck.ts';

const exec = promisify(execFile);

/** Runs a rendered script in the host directory, as the local command runner does. */
async function runScript(lab: LabPaths, script: string): Promise<{ code: number; output: string }> {
  const file = path.join(lab.runDir, 'script.sh');
  await writeFile(file, script, { mode: 0o700 });
  try {
    const { stdout, stderr } = await exec('bash', [file], { cwd: lab.host });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

async function head(lab: LabPaths): Promise<string> {
  return (await exec('git', ['describe', '--tags', '--always', 'HEAD'], { cwd: lab.host })).stdout.trim();
}

describe('the demo target', () => {
  it('is valid, on a local host in .stepops/demo/host, with a gate on the app /health', () => {
    // Act
    const target = parseTarget(demo, 'targets/demo.ts', 'demo');

    // Assess
    expect(target.hosts).toEqual({ type: 'local', directory: '.stepops/demo/host' });
    expect(target.deploy?.healthGate.probes).toEqual(['app-health']);
    expect(target.health?.probes[0]).toMatchObject({ type: 'http', url: 'http://127.0.0.1:47613/health' });
  });

  it('renders deploy and rollback scripts that pass shellcheck', async () => {
    // Prepare
    const plan = planDeploy(parseTarget(demo, 'targets/demo.ts'), 'v2', 'run-1');
    const dir = await mkdtemp(path.join(tmpdir(), 'stepops-sc-'));
    await writeFile(path.join(dir, 'deploy.sh'), plan.deployScript);
    await writeFile(path.join(dir, 'rollback.sh'), plan.rollbackScript);

    // Act
    const result = await shellcheck({ files: ['deploy.sh', 'rollback.sh'], cwd: dir });
    await rm(dir, { recursive: true, force: true });

    // Assess
    expect(result.findings).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('the lab target scripts on a real lab', () => {
  let root: string;
  let lab: LabPaths;
  let port: number;
  const target = () => parseTarget(labTarget({ name: 'lab-unit', dir: lab.dir, port }), 'lab-unit');

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-lab-target-'));
    port = await freePort();
    lab = await setupLab({ dir: path.join(root, 'lab'), port });
    await startLabApp(lab);
  });

  afterAll(async () => {
    await stopLabApp(lab.dir);
    await rm(root, { recursive: true, force: true });
  });

  it('deploys a tag: checks it out and restarts the app on it', async () => {
    // Act
    const result = await runScript(lab, planDeploy(target(), 'v2', 'run-a').deployScript);

    // Assess
    expect(result.code, result.output).toBe(0);
    expect(await head(lab)).toBe('v2');
    expect(await appHealth(port)).toMatchObject({ status: 200, body: { version: 'v2' } });
  });

  it('rolls back to the commit the same run recorded before its checkout', async () => {
    // Prepare
    const plan = planDeploy(target(), 'v3', 'run-b');
    await runScript(lab, plan.deployScript);
    const unhealthy = await appHealth(port);

    // Act
    const rollback = await runScript(lab, plan.rollbackScript);

    // Assess
    expect(unhealthy?.status).toBe(503);
    expect(rollback.code, rollback.output).toBe(0);
    expect(rollback.output).toContain('returned to v2');
    expect(await head(lab)).toBe('v2');
    expect(await appHealth(port)).toMatchObject({ status: 200, body: { version: 'v2' } });
  });

  it('fails the deploy of a ref that does not exist, and its rollback leaves the checkout alone', async () => {
    // Prepare
    const plan = planDeploy(target(), 'v9', 'run-c');

    // Act
    const deploy = await runScript(lab, plan.deployScript);
    const rollback = await runScript(lab, plan.rollbackScript);

    // Assess
    expect(deploy.code).not.toBe(0);
    expect(deploy.output).toContain('==> step 1/2: checkout failed');
    expect(rollback.code, rollback.output).toBe(0);
    expect(rollback.output).toContain('run run-c changed no checkout: staying at v2');
    expect(await head(lab)).toBe('v2');
  });
});
