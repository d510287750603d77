import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTarget, listTargets } from '../../../shared/config/registry.ts';
import { targetSchema } from '../../../shared/config/schema.ts';
import { filledTarget } from '../../fixtures/filled-targets.ts';
import { shellcheck as lint } from '../../helpers/shellcheck.ts';
import { type LabelledScript, renderedScripts, STEP_HEADER, stepScripts } from './scripts.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'stepops-shellcheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs shellcheck over scripts at once; returns its findings (empty when all pass). */
async function shellcheck(scripts: readonly LabelledScript[]): Promise<string> {
  const files = scripts.map(({ label, script }) => {
    const file = path.join(dir, `${label.replaceAll(/[^\w.-]/g, '_')}.sh`);
    writeFileSync(file, script);
    return file;
  });
  const { findings } = await lint({ files, format: 'gcc' });
  return findings.replaceAll(`${dir}/`, '');
}

describe('shellcheck harness', () => {
  it('is installed and catches a bad script', async () => {
    // Prepare
    const bad = [{ label: 'bad', script: `${STEP_HEADER}rm -rf $1/tmp\n` }];

    // Act
    const findings = await shellcheck(bad);

    // Assess
    expect(findings).toContain('SC2086');
  });
});

describe.each(listTargets())('scripts of target %s', (name) => {
  // As a stage runs them: with their unfilled(…) values filled in (a marker is not shell).
  const target = name === 'demo' ? findTarget(name) : targetSchema.parse(filledTarget(name));

  it('has step scripts that pass shellcheck', async () => {
    // Prepare
    const scripts = stepScripts(target);

    // Act
    const findings = await shellcheck(scripts);

    // Assess
    expect(scripts.length).toBeGreaterThan(0);
    expect(findings).toBe('');
  });

  it('has rendered plan scripts that pass shellcheck', async () => {
    // Prepare
    const scripts = renderedScripts(target);

    // Act
    const findings = await shellcheck(scripts);

    // Assess
    expect(scripts.length).toBeGreaterThan(0);
    expect(findings).toBe('');
  });
});
