/**
 * A file added to the targets directory is seen by validate, the registry and the stage with no
 * other edit: nothing lists targets by hand. The directory is chosen with `--targets` (before or
 * after the command) or `STEPOPS_TARGETS_DIR`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../../cli/commands/validate.ts';
import { listTargetNames, PROJECT_ROOT, TARGETS_DIR } from '../../../shared/config/load.ts';
import { discoverTargets, findTarget, listTargets } from '../../../shared/config/registry.ts';
import { stageSettings } from '../../../stacks/settings.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');
const sharedUrl = pathToFileURL(path.join(PROJECT_ROOT, 'shared')).href;
const labUrl = pathToFileURL(path.join(PROJECT_ROOT, 'lab')).href;

let dir: string;

const BILLING = `export default {
  name: 'billing-api',
  description: 'a target just added',
  hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'billing' }, workingDirectory: '/opt/billing' },
};
`;

/** A copy of two example targets (their imports made absolute) plus one new file and a helper. */
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepops-targets-'));
  for (const name of ['zmanim', 'demo']) {
    const source = await readFile(path.join(TARGETS_DIR, `${name}.ts`), 'utf8');
    await writeFile(
      path.join(dir, `${name}.ts`),
      source.replaceAll("'../shared/", `'${sharedUrl}/`).replaceAll("'../lab/", `'${labUrl}/`),
    );
  }
  await writeFile(path.join(dir, 'billing-api.ts'), BILLING);
  await writeFile(path.join(dir, '_shared.ts'), 'export const region = "eu-west-1";\n');
});
afterAll(async () => {
  await discoverTargets(TARGETS_DIR);
  await rm(dir, { recursive: true, force: true });
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (t: string) => out.push(t), err: (t: string) => err.push(t), lines: { out, err } };
}

function stepops(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(NODE, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, STEPOPS_TARGETS_DIR: '', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a target file added to the targets directory', () => {
  it('is listed and validated with the others, the helper file left out', async () => {
    // Act
    const names = await listTargetNames(dir);
    const all = capture();
    const code = await validate([], all, { targetsDir: dir });

    // Assess
    expect(names).toEqual(['billing-api', 'demo', 'zmanim']);
    expect(code).toBe(0);
    expect(all.lines.out).toEqual(['✓ billing-api', '✓ demo', '✓ zmanim']);
    expect(all.lines.err).toEqual([]);
  });

  it('is known to the registry and to the stage once the directory is discovered', async () => {
    // Act
    await discoverTargets(dir);

    // Assess
    expect(listTargets()).toEqual(['billing-api', 'demo', 'zmanim']);
    expect(findTarget('billing-api').hosts).toMatchObject({ type: 'ec2', region: 'eu-west-1' });
    expect(() => findTarget('shop')).toThrow(
      'unknown target "shop" (known targets: billing-api, demo, zmanim)',
    );
    expect(stageSettings('test', { STEPOPS_TARGETS: 'billing-api' }).targets.map((t) => t.name)).toEqual([
      'billing-api',
    ]);
  });

  it('is validated by the CLI in the directory of --targets (before or after the command) or of STEPOPS_TARGETS_DIR', () => {
    // Act
    const before = stepops(['--targets', dir, 'validate']);
    const after = stepops(['validate', 'billing-api', '--targets', dir]);
    const fromEnv = stepops(['validate', 'billing-api'], { STEPOPS_TARGETS_DIR: dir });
    const repository = stepops(['validate', 'billing-api']);

    // Assess
    expect(before.stdout).toBe('✓ billing-api\n✓ demo\n✓ zmanim\n');
    expect(before.code).toBe(0);
    expect(after.stdout).toBe('✓ billing-api\n');
    expect(after.code).toBe(0);
    expect(fromEnv.stdout).toBe('✓ billing-api\n');
    expect(fromEnv.code).toBe(0);
    // This repository's targets/ has no such file.
    expect(repository.code).toBe(2);
    expect(repository.stderr).toContain('billing-api.ts: no such target file');
  });

  it('refuses a targets directory that does not exist (exit 2, naming it)', () => {
    // Act
    const missing = path.join(dir, 'nope');
    const result = stepops(['--targets', missing, 'validate']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`targets directory ${missing}: no such directory`);
    expect(result.stdout).toBe('');
  });
});
