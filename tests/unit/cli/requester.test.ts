import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requester } from '../../../cli/runs/source.ts';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');

describe('requester', () => {
  it('names the USER and the command', () => {
    expect(requester('deploy', { USER: 'ana' }, () => 'root')).toBe('ana (stepops deploy)');
  });

  it('falls back to the OS account when USER is unset or empty', () => {
    expect(requester('backup', {}, () => 'ci-runner')).toBe('ci-runner (stepops backup)');
    expect(requester('backup', { USER: '' }, () => 'ci-runner')).toBe('ci-runner (stepops backup)');
  });

  it('says "someone" only when neither can be known', () => {
    expect(requester('recover', {}, () => undefined)).toBe('someone (stepops recover)');
  });

  it('reads the real OS account by default', () => {
    expect(requester('deploy', {})).not.toMatch(/^someone /);
  });
});

describe('the "by" of a run started without USER', () => {
  it('is the OS account, in the history the operator reads', () => {
    // Prepare: a local target with a runbook, in a directory of its own; USER unset, as in cron
    const cwd = mkdtempSync(path.join(tmpdir(), 'stepops-by-'));
    try {
      writeFileSync(
        path.join(cwd, 'by-app.ts'),
        `export default {
  name: 'by-app',
  description: 'a local app',
  hosts: { type: 'local', directory: ${JSON.stringify(path.join(cwd, 'host'))} },
  recovery: { 'restart-app': { description: 'Restart it', steps: [{ type: 'script', name: 'restart', script: 'true', timeout: 30 }] } },
};
`,
      );
      const { USER: _user, STEPOPS_HOME: _home, ...env } = process.env;
      const run = (...args: string[]) =>
        spawnSync(NODE, [CLI, ...args], {
          cwd,
          env: { ...env, POWERTOOLS_LOG_LEVEL: 'SILENT', CI: '1' },
          encoding: 'utf8',
        });

      // Act
      const recovered = run('recover', './by-app.ts', '--runbook', 'restart-app', '--reason', 'cron');
      const history = run('history', 'by-app', '--workflow', 'recover');

      // Assess
      expect(recovered.status, recovered.stdout + recovered.stderr).toBe(0);
      expect(history.stdout).toContain(`${userInfo().username} (stepops recover)`);
      expect(history.stdout).not.toContain('someone');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
