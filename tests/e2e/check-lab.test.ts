/**
 * `stepops check` against local lab hosts, for real: the generated script passes shellcheck and
 * runs with bash through the local command runner, against real git clones (a bare origin on this
 * machine), a PATH without some tools, and a `sudo` on the lab's PATH that answers as sudo does for
 * a rule that needs a password (this machine's own sudo, if any, is not configured by tests).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCheckScript } from '../../shared/check/host-script.ts';
import { hostNeeds } from '../../shared/check/needs.ts';
import { formatReport, runCheck } from '../../shared/check/run.ts';
import { parseTarget } from '../../shared/config/load.ts';
import type { Target } from '../../shared/config/schema.ts';
import { BashCommandRunner } from '../../shared/drivers/local/bash-command-runner.ts';
import { shellcheck } from '../helpers/shellcheck.ts';

let lab: string;
let runner: BashCommandRunner;

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
}

/** A target of local hosts in the lab, with a deploy, a sudo command, a dump and a restore test. */
function labTarget(directories: string[], extraPath: string[] = []): Target {
  return parseTarget(
    {
      name: 'lab',
      description: 'check lab',
      hosts: { type: 'local', directory: directories, ...(extraPath.length ? { path: extraPath } : {}) },
      deploy: {
        steps: [{ name: 'pull', script: 'git pull --ff-only\nsudo systemctl restart lab-app', timeout: 60 }],
        rollback: [{ name: 'back', script: 'git checkout -', timeout: 60 }],
        healthGate: { probes: ['up'], timeout: 30 },
      },
      health: {
        schedule: 'rate(1 minute)',
        probes: [{ name: 'up', type: 'command', script: 'labtool-present --version' }],
      },
    },
    'lab.ts',
  );
}

beforeAll(() => {
  lab = mkdtempSync(path.join(tmpdir(), 'stepops-check-'));
  runner = new BashCommandRunner({ home: () => path.join(lab, 'home') });
  // The origin, and a clone of it: the ready host.
  mkdirSync(path.join(lab, 'origin.git'));
  git(path.join(lab, 'origin.git'), 'init', '--bare', '-q');
  git(lab, 'clone', '-q', path.join(lab, 'origin.git'), 'ready');
  // A clone whose origin has gone: its fetch fails.
  git(lab, 'clone', '-q', path.join(lab, 'origin.git'), 'stale');
  git(path.join(lab, 'stale'), 'remote', 'set-url', 'origin', path.join(lab, 'gone.git'));
  // A directory that is no clone.
  mkdirSync(path.join(lab, 'plain'));
  // Tools: one present; a sudo that allows everything, one that needs a password.
  const tool = (dir: string, name: string, body: string) => {
    mkdirSync(path.join(lab, dir), { recursive: true });
    writeFileSync(path.join(lab, dir, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(path.join(lab, dir, name), 0o755);
  };
  tool('bin', 'labtool-present', 'echo 1.0');
  tool('bin', 'systemctl', 'exit 0');
  tool('sudo-ok', 'sudo', 'if [ "$2" = -l ]; then shift 3; echo "/usr/bin/$*"; exit 0; fi; exit 1');
  tool('sudo-password', 'sudo', 'echo "sudo: a password is required" >&2; exit 1');
});

afterAll(() => {
  rmSync(lab, { recursive: true, force: true });
});

describe('stepops check on local hosts', () => {
  it('renders a host script that passes shellcheck', async () => {
    // Prepare
    const target = labTarget([path.join(lab, 'ready')]);

    // Act
    const script = renderCheckScript(target, hostNeeds(target), {
      workingDirectory: '/srv/app',
      user: 'deploy',
    });

    // Assess
    expect(script).toContain('GIT_TERMINAL_PROMPT=0 git fetch --dry-run origin');
    expect(script).toContain("sudo -n -l -- '\\''systemctl'\\'' '\\''restart'\\'' '\\''lab-app'\\''");
    expect((await shellcheck({ script })).findings).toBe('');
  });

  it('passes every check on a ready host', async () => {
    // Prepare
    const target = labTarget([path.join(lab, 'ready')], [path.join(lab, 'bin'), path.join(lab, 'sudo-ok')]);

    // Act
    const items = await runCheck(target, { runner, root: lab });

    // Assess
    expect(items.filter((i) => i.status !== 'pass')).toEqual([]);
    expect(items.map((i) => i.name)).toEqual([
      'working directory',
      'git clone',
      'tools of the steps',
      "tools of stepops' wrapper",
      'sudo systemctl restart lab-app',
    ]);
    expect(formatReport(items).at(-1)).toBe('ready: 5 checks passed');
  });

  it('reports each problem of each host with its fix', async () => {
    // Prepare: a host that is no clone, one whose fetch fails, one missing; no labtool; sudo asks a password
    const target = labTarget(
      [path.join(lab, 'plain'), path.join(lab, 'stale'), path.join(lab, 'missing')],
      [path.join(lab, 'sudo-password')],
    );

    // Act
    const items = await runCheck(target, { runner, root: lab });

    // Assess
    const failed = (host: string, name: string) =>
      items.find((i) => i.host === `local:${path.join(lab, host)}` && i.name === name && i.status === 'fail');
    expect(failed('plain', 'git clone')?.detail).toBe(`${path.join(lab, 'plain')} is not a git clone`);
    expect(failed('plain', 'git clone')?.fix).toContain(
      `git clone <repository URL> ${path.join(lab, 'plain')}`,
    );
    expect(failed('stale', 'git clone')?.detail).toMatch(/^git fetch from origin \(.*gone\.git\) fails as /);
    expect(failed('stale', 'git clone')?.fix).toContain('deploy key');
    expect(failed('missing', 'working directory')?.detail).toBe(
      `${path.join(lab, 'missing')} does not exist`,
    );
    expect(failed('plain', 'tools of the steps')?.detail).toContain('labtool-present (health.up)');
    expect(failed('plain', 'tools of the steps')?.detail).not.toContain('git ');
    const sudo = failed('plain', 'sudo systemctl restart lab-app');
    expect(sudo?.detail).toMatch(
      /^needs a password for \S+ \(sudo: a password is required\); used by deploy\.steps\.pull$/,
    );
    expect(sudo?.fix).toMatch(/ ALL=\(root\) NOPASSWD: \/\S*systemctl restart lab-app$/);
    expect(formatReport(items).at(-1)).toMatch(/^not ready: \d+ of \d+ checks failed$/);
  });
});
