/**
 * stepops as a user adopts it: the package is built (unless `dist/` is a build of the current
 * sources) and packed, installed from the tarball into an empty repository without a warning, and
 * run there with the system Node (20) when there is one: `init`, `validate`, `plan deploy` and a
 * deploy on the local engine against a lab host given by a path relative to the repository; the
 * user's `tsc` type-checks the target; then a second target on EC2, its unfilled values filled in,
 * and the stacks rendered from the user's own `sst.config.ts` under Pulumi's mocks.
 *
 * The slow set-up (build, pack, install) runs beside the lab's; each step has a generous time
 * limit, as the whole suite shares two cores.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
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

/** Ten minutes: what a set-up step may take on a loaded machine before it is a hang. */
const SLOW_STEP_MS = 10 * 60_000;

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
    timeout: 180_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const execFileAsync = promisify(execFile);

/** Runs a set-up command without blocking the lab's set-up beside it; its output, stdout then stderr. */
async function setupStep(command: string, args: string[], cwd: string, env = process.env): Promise<string> {
  const { stdout, stderr } = await execFileAsync(command, args, {
    cwd,
    env,
    encoding: 'utf8',
    timeout: SLOW_STEP_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  return `${stdout}${stderr}`;
}

/** Installs the tarball without the network when npm's cache has everything, else preferring the cache. */
async function install(tarball: string): Promise<string> {
  const args = ['install', '--no-audit', '--no-fund', tarball];
  try {
    return await setupStep('npm', [...args, '--offline'], repo, userEnv());
  } catch {
    return await setupStep('npm', [...args, '--prefer-offline'], repo, userEnv());
  }
}

/** Builds `dist/` unless it is a build of the current sources, packs it, and installs it in `repo`. */
async function buildPackInstall(): Promise<void> {
  await setupStep(
    process.execPath,
    [path.join(PROJECT_ROOT, 'scripts', 'build.ts'), '--if-changed'],
    PROJECT_ROOT,
  );
  // Built (or up to date) just now: packing need not build again.
  await setupStep('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], PROJECT_ROOT);
  const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack wrote no tarball');

  repo = path.join(work, 'shop');
  await setupStep('git', ['init', '--quiet', repo], work);
  await setupStep('npm', ['init', '-y'], repo, userEnv());
  installLog = await install(path.join(work, tarball));
}

/** The lab: an app served from a host directory, at version v1. */
async function startLab(): Promise<void> {
  port = await freePort();
  lab = await setupLab({ dir: path.join(work, 'lab'), port, node: NODE });
  await startLabApp(lab);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'stepops-package-'));
  await Promise.all([buildPackInstall(), startLab()]);
}, 2 * SLOW_STEP_MS);

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
    // The local engine's interpreter is bundled, with its licenses, not installed.
    expect(existsSync(path.join(pkg, 'dist', 'vendor', 'aws-local-stepfunctions.js'))).toBe(true);
    const licenses = await readFile(
      path.join(pkg, 'dist', 'vendor', 'aws-local-stepfunctions.LICENSES.txt'),
      'utf8',
    );
    expect(licenses).toMatch(/^aws-local-stepfunctions@\d+\.\d+\.\d+ \(MIT\)$/m);
    expect(licenses).toContain('Luis De Anda');
    expect(existsSync(path.join(repo, 'node_modules', 'aws-local-stepfunctions'))).toBe(false);
    expect(stepops('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('installs without a warning, but npm 11 listing the install script it skipped (esbuild’s, which is not needed)', () => {
    expect(installLog).toContain('added ');
    expect(installLog).not.toContain('EBADENGINE');
    const warnings = installLog.split('\n').filter((line) => /^npm warn/i.test(line));
    // npm 11 runs no dependency's install script that the project has not allowed, and lists them.
    // esbuild's only checks its binary, which it finds in @esbuild/<platform> (an optional dependency).
    const skipped = warnings.filter((line) => line.startsWith('npm warn install-scripts'));
    expect(warnings.filter((line) => !skipped.includes(line))).toEqual([]);
    const packages = skipped.flatMap(
      (line) => /^npm warn install-scripts\s+(\S+)@\S+ \(/.exec(line)?.[1] ?? [],
    );
    expect(packages.filter((name) => name !== 'esbuild')).toEqual([]);
  });

  it('init writes a target, validate passes, plan shows the deploy, and the local deploy updates the lab', async () => {
    // The host as the user writes it: a path relative to the repository, where stepops runs.
    const host = path.relative(repo, lab.host);
    expect(host.startsWith('..')).toBe(true);
    const init = stepops('init', '--local', host, '--url', `http://127.0.0.1:${port}/health`);
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
    expect(plan.stdout).toContain(host);
    expect(plan.stdout).toContain('../bin/app-ctl.sh restart');

    expect((await appHealth(port))?.body?.version).toBe('v1');
    const deploy = stepops('deploy', 'shop', '--ref', 'v2', '--reason', 'package test');
    expect(deploy.stderr).not.toMatch(/warning|unexpected error/i);
    expect(deploy.status).toBe(0);
    expect((await appHealth(port))?.body?.version).toBe('v2');
    // The host the deploy checked out is the lab's, not a directory made inside the package, and
    // the run is recorded in the repository, where `status` and `history` run from look.
    const pkg = path.join(repo, 'node_modules', 'stepops');
    expect(existsSync(path.join(pkg, 'dist', host))).toBe(false);
    expect(existsSync(path.join(pkg, host))).toBe(false);
    expect(existsSync(path.join(repo, '.stepops'))).toBe(true);
    expect(existsSync(path.join(pkg, 'dist', '.stepops'))).toBe(false);
    expect(existsSync(path.join(pkg, '.stepops'))).toBe(false);
    const history = stepops('history', 'shop');
    expect(history.status).toBe(0);
    expect(history.stdout).toContain('package test');
  }, 300_000);

  it('the user’s tsc type-checks a target file against the declarations (NodeNext)', async () => {
    // A typical tsconfig of a Node project, with the library checks on.
    const tsconfig = {
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      include: ['stepops/targets', 'typed.ts'],
    };
    await writeFile(path.join(repo, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    // defineTarget's types resolve: a wrong field is an error (else the directive itself is one).
    await writeFile(
      path.join(repo, 'typed.ts'),
      "import { defineTarget } from 'stepops';\n// @ts-expect-error: a name is a string\ndefineTarget({ name: 42 });\n",
    );
    const tsc = spawnSync(
      NODE,
      [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
      {
        cwd: repo,
        env: userEnv(),
        encoding: 'utf8',
        timeout: 180_000,
      },
    );
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  }, 300_000);

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
  }, 300_000);
});
