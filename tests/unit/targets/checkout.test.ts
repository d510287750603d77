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

function runStep(cwd: string, script: string, ref: string, runId = 'run-1') {
  return spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd,
    env: { ...gitEnv, STEPOPS_TARGET: 't', STEPOPS_REF: ref, STEPOPS_RUN_ID: runId },
    encoding: 'utf8',
  });
}

describe.each(['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim'])(
  'the %s verify, checkout and rollback steps',
  (name) => {
    const target = findTarget(name);
    const verify = target.deploy!.verify![0]!.script;
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
        writeFileSync(path.join(host, 'bin/api.stepops-previous.run'), 'run-1\n');
      }

      // Act
      const result = runStep(host, rollback, 'v2');

      // Assess
      expect(result.status, result.stderr).toBe(0);
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v1);
      if (name === 'zmanim') expect(readFileSync(path.join(host, 'bin/api'), 'utf8')).toBe('previous binary');
    });

    it('leaves a host this run did not change where it is, whatever an earlier run recorded', () => {
      // Prepare: an earlier run deployed v2 (recording v1); this run's checkout of a typo failed.
      expect(runStep(host, checkout, 'v2', 'run-0').status).toBe(0);
      const typo = runStep(host, checkout, 'v3-typo', 'run-1');
      if (name === 'zmanim') {
        mkdirSync(path.join(host, 'bin'));
        writeFileSync(path.join(host, 'bin/api'), 'v2 binary', { mode: 0o755 });
        writeFileSync(path.join(host, 'bin/api.stepops-previous'), 'v1 binary', { mode: 0o755 });
        writeFileSync(path.join(host, 'bin/api.stepops-previous.run'), 'run-0\n');
      }

      // Act
      const result = runStep(host, rollback, 'v3-typo', 'run-1');

      // Assess: still at v2, not downgraded to the v1 that run-0 recorded
      expect(typo.status).not.toBe(0);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('run run-1 changed no checkout on this host');
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v2);
      if (name === 'zmanim') expect(readFileSync(path.join(host, 'bin/api'), 'utf8')).toBe('v2 binary');
    });

    it('rolls back to what this run replaced, not to what an earlier run recorded', () => {
      // Prepare
      const v3 = commit(origin, 'v3');
      git(origin, 'tag', 'v3');
      runStep(host, checkout, 'v2', 'run-0');
      runStep(host, checkout, 'v3', 'run-1');
      if (name === 'zmanim') {
        mkdirSync(path.join(host, 'bin'));
        writeFileSync(path.join(host, 'bin/api.stepops-previous'), 'v2 binary', { mode: 0o755 });
        writeFileSync(path.join(host, 'bin/api.stepops-previous.run'), 'run-1\n');
      }

      // Act
      const result = runStep(host, rollback, 'v3', 'run-1');

      // Assess
      expect(result.status, result.stderr).toBe(0);
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v2);
      expect(git(host, 'rev-parse', 'HEAD')).not.toBe(v3);
    });

    it('verifies that the ref exists without changing the checkout', () => {
      // Act
      const good = runStep(host, verify, 'v2');
      const typo = runStep(host, verify, 'v3-typo');

      // Assess
      expect(good.status, good.stderr).toBe(0);
      expect(good.stdout).toContain(`v2 is ${v2}`);
      expect(typo.status).not.toBe(0);
      expect(typo.stderr).toContain('ref "v3-typo" is not a branch, tag or commit of origin');
      expect(git(host, 'rev-parse', 'HEAD')).toBe(v1);
    });
  },
);
