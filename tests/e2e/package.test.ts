/**
 * stepops as a user adopts it: the package is built and packed, installed from the tarball into an
 * empty repository, and run there with the system Node (20) when there is one: `init`, `validate`,
 * `plan deploy` and a deploy on the local engine against a lab; then a second target on EC2, its
 * unfilled values filled in, and the stacks rendered from the user's own `sst.config.ts` under
 * Pulumi's mocks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appHealth, type LabPaths, setupLab, startLabApp, stopLabApp } from '../../lab/setup.ts';
import { PROJECT_ROOT } from '../../shared/config/load.ts';
import { freePort } from '../helpers/net.ts';
import { type MockRun, runUnderMocks } from '../infra/harness.ts';

/** The Node a user runs: the system's (20) when installed, else the one running the tests. */
const NODE = existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;
/** PATH with that Node first, so that npm and the bin's `#!/usr/bin/env node` use it. */
const PATH = `${path.dirname(NODE)}${path.delimiter}${process.env.PATH ?? ''}`;

let work: string;
let repo: string;
let lab: LabPaths;
let port: number;
let installLog: string;

/** The environment of a user's shell: no stepops variables of the test run. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH, NO_COLOR: '1' };
  for (const key of Object.keys(env))
    if (key.startsWith('STEPOPS_') || key.startsWith('VITEST')) delete env[key];
  return env;
}

/** Runs the installed `stepops` in the repository, as `npx stepops …` does. */
function stepops(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(NODE, [path.join(repo, 'node_modules', '.bin', 'stepops'), ...args], {
    cwd: repo,
    env: userEnv(),
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Installs the tarball without the network when npm's cache has everything, else preferring the cache. */
function install(tarball: string): string {
  const base = ['install', '--no-audit', '--no-fund', tarball];
  for (const mode of ['--offline', '--prefer-offline']) {
    const result = spawnSync('npm', [...base, mode], { cwd: repo, env: userEnv(), encoding: 'utf8' });
    if (result.status === 0) return `${result.stdout}${result.stderr}`;
    if (mode === '--prefer-offline') throw new Error(`npm install failed:\n${result.stderr}`);
  }
  return '';
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'stepops-package-'));
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'build.ts')], {
    cwd: PROJECT_ROOT,
    stdio: 'ignore',
  });
  // Built just now: packing need not build again.
  execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], {
    cwd: PROJECT_ROOT,
  });
  const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack wrote no tarball');

  repo = path.join(work, 'shop');
  execFileSync('git', ['init', '--quiet', repo]);
  execFileSync('npm', ['init', '-y'], { cwd: repo, env: userEnv(), stdio: 'ignore' });
  installLog = install(path.join(work, tarball));

  port = await freePort();
  lab = await setupLab({ dir: path.join(work, 'lab'), port, node: NODE });
  await startLabApp(lab);
}, 360_000);

afterAll(async () => {
  if (lab) await stopLabApp(lab.dir);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('stepops installed from its tarball into an empty repository', () => {
  it('installs compiled JavaScript with declarations, and nothing of the sources', async () => {
    const pkg = path.join(repo, 'node_modules', 'stepops');
    expect(existsSync(path.join(pkg, 'dist', 'cli', 'stepops.js'))).toBe(true);
    expect(existsSync(path.join(pkg, 'dist', 'index.d.ts'))).toBe(true);
    expect(existsSync(path.join(pkg, 'dist', 'stacks', 'index.d.ts'))).toBe(true);
    expect(existsSync(path.join(pkg, 'cli'))).toBe(false);
    expect(existsSync(path.join(pkg, 'tests'))).toBe(false);
    expect(installLog).not.toMatch(/EBADENGINE[^}]*package: 'stepops@/);
    expect(stepops('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('init writes a target, validate passes, plan shows the deploy, and the local deploy updates the lab', async () => {
    const init = stepops('init', '--local', lab.host, '--url', `http://127.0.0.1:${port}/health`);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(init.stdout).toContain('created stepops/targets/shop.ts');
    expect(init.stdout).toContain('npx stepops plan deploy shop');
    expect(await readFile(path.join(repo, '.gitignore'), 'utf8')).toBe('.sst\n.stepops\n');

    // The user writes how their app restarts (the lab's control script).
    const file = path.join(repo, 'stepops', 'targets', 'shop.ts');
    const source = await readFile(file, 'utf8');
    const restart = "const restart = 'sudo systemctl restart shop';";
    expect(source).toContain(restart);
    await writeFile(file, source.replace(restart, "const restart = '../bin/app-ctl.sh restart';"));

    const validate = stepops('validate');
    expect(validate.stderr).toBe('');
    expect(validate.stdout).toContain('✓ shop');
    expect(validate.status).toBe(0);

    const plan = stepops('plan', 'deploy', 'shop', '--ref', 'v2');
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain(lab.host);
    expect(plan.stdout).toContain('../bin/app-ctl.sh restart');

    expect((await appHealth(port))?.body?.version).toBe('v1');
    const deploy = stepops('deploy', 'shop', '--ref', 'v2', '--reason', 'package test');
    expect(deploy.stderr).not.toMatch(/warning|unexpected error/i);
    expect(deploy.status).toBe(0);
    expect((await appHealth(port))?.body?.version).toBe('v2');
  }, 120_000);

  it('renders the stacks from the user’s sst.config.ts: a new target file needs no other edit', async () => {
    // A second target, on EC2, with its unfilled values filled in as the user would.
    const init = stepops('init', '--name', 'web', '--url', 'https://web.example.com/health');
    expect(init.status).toBe(0);
    expect(init.stdout).toContain('kept    sst.config.ts');
    const file = path.join(repo, 'stepops', 'targets', 'web.ts');
    const filled = (await readFile(file, 'utf8'))
      .replace("unfilled('GitHub repository of the app, as owner/name')", "'acme/web'")
      .replace("unfilled('AWS region of the instances, such as eu-west-1')", "'eu-west-1'");
    await writeFile(file, filled);
    const ready = stepops('validate', '--stage', 'prod');
    expect(ready.stderr).toBe('');
    expect(ready.status).toBe(0);

    const g = globalThis as Record<string, unknown>;
    g.$config = (config: unknown) => config;
    const config = (await import(pathToFileURL(path.join(repo, 'sst.config.ts')).href)).default as {
      run(): Promise<Record<string, unknown>>;
    };
    const run = (await runUnderMocks(async () => {
      // The app is the user's repository, as `sst deploy` run there sets it.
      (g.$cli as { paths: { root: string } }).paths.root = repo;
      return config.run();
    })) as MockRun<{ targets: string }>;

    // The local target is the local engine's only; the EC2 one is the stage's.
    expect(run.outputs.targets).toBe('web');
    expect(run.ofType('aws:sfn/stateMachine:StateMachine').length).toBeGreaterThanOrEqual(4);
    const builds = run.rpc.filter((r) => r.method === 'Runtime.Build');
    expect(builds.length).toBeGreaterThan(0);
    for (const build of builds)
      expect(String(build.args.handler)).toMatch(/node_modules\/stepops\/dist\/functions\//);
  }, 120_000);
});
