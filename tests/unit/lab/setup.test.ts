import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appHealth,
  LabError,
  type LabPaths,
  labCtl,
  runningAppPid,
  setupLab,
  startLabApp,
  stopLabApp,
} from '../../../lab/setup.ts';
import { freePort } from '../../helpers/net.ts';

const exec = promisify(execFile);

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await exec('git', args, { cwd })).stdout.trim();
}

describe('setupLab', () => {
  let root: string;
  let lab: LabPaths;
  let port: number;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-lab-'));
    port = await freePort();
    lab = await setupLab({ dir: path.join(root, 'lab'), port });
  });

  afterAll(async () => {
    await stopLabApp(lab.dir);
    await rm(root, { recursive: true, force: true });
  });

  it('creates the app repository with v1, v2 and v3 tagged in commit order', async () => {
    // Act
    const tags = await git(lab.origin, 'tag', '--list');
    const log = await git(lab.origin, 'log', '--format=%D', '--reverse');

    // Assess
    expect(tags.split('\n')).toEqual(['v1', 'v2', 'v3']);
    expect(log.split('\n')).toEqual(['tag: v1', 'tag: v2', 'HEAD -> main, tag: v3']);
    expect(JSON.parse(await git(lab.origin, 'show', 'v2:release.json')).version).toBe('v2');
  });

  it('clones the repository as the host, checked out at v1 with origin pointing to the repository', async () => {
    // Act
    const head = await git(lab.host, 'describe', '--tags', '--exact-match', 'HEAD');
    const origin = await git(lab.host, 'remote', 'get-url', 'origin');

    // Assess
    expect(head).toBe('v1');
    expect(path.resolve(origin)).toBe(lab.origin);
  });

  it('serves v1 healthy, and v3 with a failing /health (503)', async () => {
    // Prepare
    await startLabApp(lab);
    const v1 = await appHealth(port);

    // Act
    await git(lab.host, 'checkout', '--quiet', '--detach', 'v3');
    const restart = await labCtl(lab, 'restart');
    const v3 = await appHealth(port);

    // Assess
    expect(v1).toMatchObject({ status: 200, body: { status: 'ok', version: 'v1' } });
    expect(restart.exitCode).toBe(0);
    expect(v3).toMatchObject({
      status: 503,
      body: {
        status: 'unhealthy',
        version: 'v3',
        problems: ['required file config/payments.json is missing'],
      },
    });
  });

  it('stops the app it started: pid gone, port free, status 3', async () => {
    // Prepare
    await startLabApp(lab);
    const pid = await runningAppPid(lab.dir);

    // Act
    const stopped = await stopLabApp(lab.dir);
    const status = await labCtl(lab, 'status');

    // Assess
    expect(stopped).toBe(pid);
    expect(await runningAppPid(lab.dir)).toBeUndefined();
    expect(existsSync(lab.pidFile)).toBe(false);
    expect(await appHealth(port, 500)).toBeUndefined();
    expect(status.exitCode).toBe(3);
  });

  it('refuses to start when another process holds the port', async () => {
    // Prepare
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));

    // Act
    const result = await labCtl(lab, 'start').finally(() => squatter.close());

    // Assess
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain(`port ${port} is taken`);
  });

  it('runs again: stops the app a previous setup left running and re-creates the lab', async () => {
    // Prepare
    await startLabApp(lab);
    const before = await runningAppPid(lab.dir);
    await writeFile(path.join(lab.host, 'leftover.txt'), 'from the previous run\n');

    // Act
    const again = await setupLab({ dir: lab.dir, port });

    // Assess
    expect(before).toBeDefined();
    expect(await runningAppPid(again.dir)).toBeUndefined();
    expect(await appHealth(port, 500)).toBeUndefined();
    expect(existsSync(path.join(again.host, 'leftover.txt'))).toBe(false);
    expect(await git(again.host, 'describe', '--tags', 'HEAD')).toBe('v1');
    expect(await readFile(again.env, 'utf8')).toContain(`LAB_PORT=${port}`);
  });

  it('never wipes a non-empty directory it did not make', async () => {
    // Prepare
    const foreign = path.join(root, 'foreign');
    await mkdir(foreign);
    await writeFile(path.join(foreign, 'precious.txt'), 'keep me\n');

    // Act
    const attempt = setupLab({ dir: foreign, port });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(LabError);
    expect(await readFile(path.join(foreign, 'precious.txt'), 'utf8')).toBe('keep me\n');
  });

  it('works with no git identity configured', async () => {
    // Prepare
    const home = path.join(root, 'empty-home');
    await mkdir(home);
    const saved = { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME };
    process.env.HOME = home;
    process.env.XDG_CONFIG_HOME = home;

    // Act
    const fresh = await setupLab({ dir: path.join(root, 'no-identity'), port }).finally(() => {
      process.env.HOME = saved.HOME;
      if (saved.XDG_CONFIG_HOME === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved.XDG_CONFIG_HOME;
    });

    // Assess
    expect(await git(fresh.origin, 'log', '-1', '--format=%an <%ae>')).toBe(
      'stepops lab <lab@stepops.invalid>',
    );
  });
});
