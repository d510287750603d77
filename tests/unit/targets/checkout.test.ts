import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { findTarget } from '../../../shared/config/registry.ts';

// Runs the real checkout and rollback steps of each target against a real git repository.

const root = mkdtempSync(path.join(tmpdir(), 'stepops-checkout-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
}

function commit(cwd: string, message: string): string {
  writeFileSync(path.join(cwd, 'release.txt'), `${message}\n`);
  git(cwd, 'add', 'release.txt');
  git(cwd, 'commit', '-q', '-m', message);
  return git(cwd, 'rev-parse', 'HEAD');
}

function runStep(cwd: string, script: string, ref: string) {
  return spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd,
    env: { ...gitEnv, STEPOPS_TARGET: 't', STEPOPS_REF: ref, STEPOPS_RUN_ID: 'run-1' },
    encoding: 'utf8',
  });
}

describe.each(['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim'])(
  'the %s checkout and rollback steps',
  (name) => {
    const target = findTarget(name);
    const checkout = target.deploy!.steps[0]!.script;
    const rollback = target.deploy!.rollback[0]!.script;
    let origin: string;
    let host: string;
    let v1: string;
    let v2: string;

    beforeEach(() => {
      const dir = mkdtempSync(path.join(root, `${name}-`));
      origin = path.join(dir, 'origin');
      host = path.join(dir, 'host');
      mkdirSync(origin);
      git(origin, 'init', '-q', '-b', 'main');
      v1 = commit(origin, 'v1');
      git(origin, 'tag', 'v1');
      v2 = commit(origin, 'v2');
      git(origin, 'tag', 'v2');
      git(dir, 'clone', '-q', origin, host);
      git(host, 'checkout', '-q', '--detach', 'v1');
    });

    it('checks out exactly the tag and records the commit it replaced', () => {
      // Act
      const result = runStep(host, checkout, 'v2');

      // Assess
      expect(result.status, result.stderr).toBe(0);
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v2);
      expect(readFileSync(path.join(host, '.stepops-previous'), 'utf8').trim()).toBe(v1);
    });

    it('deploys the tip of a branch as origin has it now', () => {
      // Prepare
      const v3 = commit(origin, 'v3');

      // Act
      const result = runStep(host, checkout, 'main');

      // Assess
      expect(result.status, result.stderr).toBe(0);
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v3);
    });

    it('keeps the recorded version when the same ref is deployed again', () => {
      // Prepare
      runStep(host, checkout, 'v2');

      // Act
      const again = runStep(host, checkout, 'v2');

      // Assess
      expect(again.status, again.stderr).toBe(0);
      expect(readFileSync(path.join(host, '.stepops-previous'), 'utf8').trim()).toBe(v1);
    });

    it('fails on an unknown ref and leaves the checkout alone', () => {
      // Act
      const result = runStep(host, checkout, 'v9');

      // Assess
      expect(result.status).not.toBe(0);
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v1);
      expect(existsSync(path.join(host, '.stepops-previous'))).toBe(false);
    });

    it('rolls back to the recorded version', () => {
      // Prepare
      runStep(host, checkout, 'v2');
      if (name === 'zmanim') {
        mkdirSync(path.join(host, 'bin'));
        writeFileSync(path.join(host, 'bin/api'), 'new binary', { mode: 0o755 });
        writeFileSync(path.join(host, 'bin/api.stepops-previous'), 'previous binary', { mode: 0o755 });
      }

      // Act
      const result = runStep(host, rollback, 'v2');

      // Assess
      expect(result.status, result.stderr).toBe(0);
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v1);
      if (name === 'zmanim') expect(readFileSync(path.join(host, 'bin/api'), 'utf8')).toBe('previous binary');
    });

    it('refuses to roll back when no version was recorded', () => {
      // Act
      const result = runStep(host, rollback, 'v2');

      // Assess
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('no .stepops-previous');
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v1);
    });
  },
);
