/**
 * The exact script a host runs, written out in `fixtures/rendered-deploy.sh` (read and checked by
 * hand, and by `bash -n` and shellcheck): a hostile title and value quoted, the host index from the
 * host's own id, the run-as user with the variables it keeps, a login shell with the extra PATH, a
 * run-once step only on host 0, the early end a step may ask for, whole-second timeouts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostScriptOptions, hostShell, renderScript } from '../../shared/shell/script.ts';

const EXPECTED = readFileSync(path.join(import.meta.dirname, 'fixtures', 'rendered-deploy.sh'), 'utf8');

describe('the rendered script', () => {
  it('is exactly the script written out', () => {
    expect(
      renderScript({
        title: 'deploy demo; rm -rf /',
        env: { REF: "v2'x" },
        workingDirectory: '/srv/app',
        user: 'app',
        loginShell: true,
        path: ['/opt/bin'],
        hosts: { ids: ['i-1', 'i-2'], first: 2, count: 4 },
        steps: [
          { name: 'pull', script: 'git pull', timeout: 60, runOnce: true },
          { name: 'build', script: 'make', timeout: 120.7 },
          { name: 'restart', script: 'systemctl restart app', timeout: 30 },
        ],
      }),
    ).toBe(EXPECTED);
  });

  it('runs one step as the invoking user without a stop file, host index or directory', () => {
    expect(
      renderScript({ title: 't', env: {}, user: 'root', steps: [{ name: 's', script: 'true', timeout: 5 }] }),
    ).toBe(
      [
        '#!/usr/bin/env bash',
        '# stepops t',
        'set -euo pipefail',
        ...EXPECTED.split('\n').slice(12, 30),
        `trap 'rm -rf -- "\${stepops_logs}"' EXIT`,
        '',
        '# shellcheck disable=SC2016 # the step is quoted on purpose: its own shell expands it',
        `stepops_step 'step 1/1: s' "\${stepops_logs}/step-1.log" timeout 5 bash -euo pipefail -c 'true'`,
        '',
      ].join('\n'),
    );
    expect(renderScript({ title: 't', env: {}, steps: [] })).toBe(
      '#!/usr/bin/env bash\n# stepops t\nset -euo pipefail\n',
    );
  });

  it('keeps PATH for a run-as user with no variables, and refuses a bad variable name', () => {
    expect(
      renderScript({ title: 't', env: {}, user: 'app', steps: [{ name: 's', script: 'true', timeout: 5 }] }),
    ).toContain("sudo -u 'app' -H --preserve-env=PATH -- timeout 5");
    expect(() => renderScript({ title: 't', env: { lower: 'x' }, steps: [] })).toThrow(
      'invalid environment variable name "lower"',
    );
    expect(() => renderScript({ title: 't', env: { 'x;A': 'x' }, steps: [] })).toThrow(
      'invalid environment variable name "x;A"',
    );
  });

  it('runs a host command with its PATH entries, refusing a relative or odd one', () => {
    expect(hostShell('go version', { path: ['/usr/local/go/bin', '/opt/x'] })).toBe(
      `bash -euo pipefail -c 'export PATH='\\''/usr/local/go/bin:/opt/x'\\''":$PATH"\ngo version'`,
    );
    expect(hostShell('id', {})).toBe("bash -euo pipefail -c 'id'");
    expect(hostShell('id', { path: [] })).toBe("bash -euo pipefail -c 'id'");
    expect(() => hostShell('id', { path: ['bin'] })).toThrow(
      'PATH entry "bin" is not an absolute path of plain characters',
    );
    expect(() => hostShell('id', { path: ['opt/bin'] })).toThrow(
      'is not an absolute path of plain characters',
    );
    expect(() => hostShell('id', { path: ['/opt/$(id)'] })).toThrow(
      'is not an absolute path of plain characters',
    );
    expect(() => hostShell('id', { path: ['/opt/x\n'] })).toThrow(
      'is not an absolute path of plain characters',
    );
  });

  it("takes the hosts' directory and user from ec2 hosts only, and their shell and PATH from any", () => {
    expect(
      hostScriptOptions({
        type: 'ec2',
        region: 'eu-west-1',
        tags: { App: 'x' },
        workingDirectory: '/srv/x',
        user: 'app',
        loginShell: true,
        path: ['/opt/bin'],
      } as never),
    ).toEqual({ workingDirectory: '/srv/x', user: 'app', loginShell: true, path: ['/opt/bin'] });
    expect(hostScriptOptions({ type: 'local', loginShell: false, path: [] } as never)).toStrictEqual({});
  });

  it('runs a run-once step unguarded when the script is not sent to known hosts', () => {
    const script = renderScript({
      title: 't',
      env: {},
      steps: [{ name: 's', script: 'true', timeout: 5, runOnce: true }],
    });
    expect(script).not.toContain('STEPOPS_HOST_INDEX');
    expect(script).toContain("\nstepops_step 'step 1/1: s'");
  });
});
