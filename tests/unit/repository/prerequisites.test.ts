import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisites, prerequisitesMessage } from '../../prerequisites.ts';

const run = promisify(execFile);

describe('the test prerequisites check', () => {
  let bin: string;

  beforeAll(async () => {
    bin = await mkdtemp(path.join(tmpdir(), 'stepops-prereq-'));
    const { stdout } = await run('bash', ['-c', 'command -v git']);
    await symlink(stdout.trim(), path.join(bin, 'git'));
  });
  afterAll(() => rm(bin, { recursive: true, force: true }));

  it('names each missing program and the Debian packages that provide them', () => {
    // Prepare: a PATH with git only
    const searchPath = bin;

    // Act
    const missing = missingPrerequisites(searchPath).map((p) => p.program);
    const message = prerequisitesMessage(missingPrerequisites(searchPath)) ?? '';

    // Assess
    // (PostgreSQL's initdb is looked up by its absolute path, which this machine has)
    expect(missing).toEqual(['shellcheck', 'openssl', 'restic', 'curl', 'runuser']);
    expect(message).toContain('apt-get install -y shellcheck openssl restic curl util-linux');
    expect(message).toContain('restic (the restic backup and restore tests)');
  });

  it('says nothing when every program is found', () => {
    // Act
    const message = prerequisitesMessage(missingPrerequisites());

    // Assess: this machine runs the suite, so it has them all
    expect(message).toBeUndefined();
  });
});
