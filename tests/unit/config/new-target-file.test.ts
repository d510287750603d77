/**
 * A file added to `targets/` is seen by validate, plan, run and the stage, or validate and the
 * stage name the one step to take: the Lambdas bundle the static registry of `targets/index.ts`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../../cli/commands/validate.ts';
import { PROJECT_ROOT, TARGETS_DIR } from '../../../shared/config/load.ts';
import { unregisteredTargetFiles } from '../../../shared/config/registry.ts';
import { StageConfigError, stageSettings } from '../../../stacks/settings.ts';
import { targets } from '../../../targets/index.ts';

let dir: string;
const sharedUrl = `file://${path.join(PROJECT_ROOT, 'shared')}`;

/** A copy of targets/ (the files the registry holds, with their imports made absolute) plus one new file. */
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepops-targets-'));
  for (const name of Object.keys(targets)) {
    const source = await readFile(path.join(TARGETS_DIR, `${name}.ts`), 'utf8');
    await writeFile(path.join(dir, `${name}.ts`), source.replaceAll("'../shared/", `'${sharedUrl}/`));
  }
  await writeFile(
    path.join(dir, 'billing-api.ts'),
    `export default {
  name: 'billing-api',
  description: 'a target just added',
  hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'billing' }, workingDirectory: '/opt/billing' },
};
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out: (t: string) => out.push(t), err: (t: string) => err.push(t), lines: { out, err } };
}

const step = (file: string) =>
  `${file}: not in the registry the Lambdas bundle: add \`import billingApi from './billing-api.ts';\` and \`'billing-api': billingApi,\` to \`targets\` in ${path.join(dir, 'index.ts')}`;

describe('a target file missing from targets/index.ts', () => {
  it('is listed with the exact lines to add', () => {
    // Act
    const issues = unregisteredTargetFiles(dir);

    // Assess
    expect(issues).toEqual([
      {
        target: 'billing-api',
        file: path.join(dir, 'billing-api.ts'),
        path: '',
        message: step(path.join(dir, 'billing-api.ts')).replace(`${path.join(dir, 'billing-api.ts')}: `, ''),
      },
    ]);
    expect(unregisteredTargetFiles(TARGETS_DIR)).toEqual([]);
  });

  it('fails validate (exit 2) naming the step, for all files and for the file by name', async () => {
    // Prepare
    const all = capture();
    const one = capture();

    // Act
    const allCode = await validate([], all, { targetsDir: dir });
    const oneCode = await validate(['billing-api', 'zmanim'], one, { targetsDir: dir });

    // Assess
    expect(allCode).toBe(2);
    expect(all.lines.err).toContain(step(path.join(dir, 'billing-api.ts')));
    expect(all.lines.out).not.toContain('✓ billing-api');
    expect(all.lines.out).toContain('✓ zmanim');
    expect(oneCode).toBe(2);
    expect(one.lines.err).toContain(step(path.join(dir, 'billing-api.ts')));
    expect(one.lines.out).toEqual(['✓ zmanim']);
  });

  it('refuses the stage, naming the step', () => {
    // Act
    const act = () => stageSettings('test', { STEPOPS_TARGETS: 'zmanim' }, dir);

    // Assess
    expect(act).toThrow(StageConfigError);
    expect(act).toThrow(step(path.join(dir, 'billing-api.ts')));
  });
});
