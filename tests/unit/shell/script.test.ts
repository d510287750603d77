import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../shared/errors.ts';
import { REF_PATTERN, renderScript, shellQuote, validateRef } from '../../../shared/shell/script.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'stepops-shell-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Values that would run a command, split a word or read as an option if they reached a shell raw. */
const HOSTILE = [
  '$(touch pwned)',
  '`touch pwned`',
  'v1; touch pwned',
  'v1 | touch pwned',
  'v1 && touch pwned',
  'v1\ntouch pwned',
  "v1' ; touch pwned; echo '",
  'v1" ; touch pwned; echo "',
  '--upload-pack=touch pwned',
  '-v',
  '${HOME}',
  '$HOME',
  'v1 > pwned',
  '*',
  'v1\\',
  'ünïcødé',
  'v1\u202e',
  '../../etc/passwd',
  'v1..v2',
  'refs//heads',
  'main.lock',
  'v1/',
  '',
  ' v1',
];

/** Runs a script with bash in the temp directory and returns its stdout. */
function runBash(script: string): string {
  return execFileSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' });
}

describe('validateRef', () => {
  it.each([
    'v1',
    'v2.3.4',
    'main',
    'release/2026-11',
    'feature_x',
    'a1b2c3d',
    '0123456789abcdef0123456789abcdef01234567',
  ])('accepts the ref %j', (ref) => {
    // Act
    const result = validateRef(ref);

    // Assess
    expect(result).toBe(ref);
  });

  it.each(HOSTILE)('rejects the hostile ref %j with a message naming it', (ref) => {
    // Act
    const act = () => validateRef(ref);

    // Assess
    expect(act).toThrow(InvalidInputError);
    expect(act).toThrow(`ref ${JSON.stringify(ref)} is not a valid ref`);
  });

  it('rejects values that are not strings', () => {
    // Act
    const act = () => validateRef(42);

    // Assess
    expect(act).toThrow(InvalidInputError);
  });

  it('rejects refs longer than 128 characters', () => {
    // Assess
    expect(REF_PATTERN.test('a'.repeat(128))).toBe(true);
    expect(REF_PATTERN.test('a'.repeat(129))).toBe(false);
  });
});

describe('shellQuote', () => {
  it.each(HOSTILE)('makes %j one literal word that runs nothing', (value) => {
    // Prepare
    const script = `printf '%s' ${shellQuote(value)}`;

    // Act
    const printed = runBash(script);

    // Assess
    expect(printed).toBe(value);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
  });

  it('refuses a NUL byte, which no shell word can carry', () => {
    // Act
    const act = () => shellQuote('a\0b');

    // Assess
    expect(act).toThrow(InvalidInputError);
  });
});

describe('renderScript', () => {
  it.each(HOSTILE)('passes %j to the step through the environment, unexpanded', (value) => {
    // Prepare
    const script = renderScript({
      title: 'deploy test',
      env: { REF: value },
      steps: [{ name: 'show', script: 'printf "%s" "$STEPOPS_REF" > seen', timeout: 10 }],
    });

    // Act
    runBash(script);

    // Assess
    expect(readFileSync(path.join(dir, 'seen'), 'utf8')).toBe(value);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
  });

  it('runs the steps in order in strict mode and stops at the first failure with its exit code', () => {
    // Prepare
    const script = renderScript({
      title: 'deploy test',
      env: {},
      steps: [
        { name: 'first', script: 'echo one >> order', timeout: 10 },
        { name: 'broken', script: 'false\necho not-reached >> order', timeout: 10 },
        { name: 'third', script: 'echo three >> order', timeout: 10 },
      ],
    });
    rmSync(path.join(dir, 'order'), { force: true });

    // Act
    const act = () => execFileSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });

    // Assess
    expect(act).toThrow(
      expect.objectContaining({ status: 1, stderr: expect.stringContaining('step 2/3: broken failed') }),
    );
    expect(readFileSync(path.join(dir, 'order'), 'utf8')).toBe('one\n');
  });

  it('ends a failed run with a bounded summary on stderr: the failing step, its last lines and exit code', () => {
    // Prepare: a step that prints 200,000 characters before the error that matters.
    const script = renderScript({
      title: 'deploy test',
      env: {},
      steps: [
        { name: 'fetch', script: 'echo fetched', timeout: 10 },
        {
          name: 'build',
          script:
            'for i in $(seq 1 4000); do echo "layer $i: ................................"; done\necho "error: failed to solve: process npm ci did not complete" >&2\nexit 17',
          timeout: 30,
        },
      ],
    });

    // Act
    let failure: { status: number; stdout: string; stderr: string } | undefined;
    try {
      execFileSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', stdio: 'pipe', maxBuffer: 1e8 });
    } catch (error) {
      failure = error as typeof failure;
    }

    // Assess: the exit code is the step's; stdout has everything; stderr fits SSM's 8,000 and says why.
    expect(failure?.status).toBe(17);
    expect(failure?.stdout).toContain('layer 1: ');
    expect(failure?.stdout).toContain('layer 4000: ');
    expect(failure?.stderr.length).toBeLessThan(8_000);
    expect(failure?.stderr).toMatch(/^==> last lines of step 2\/2: build \(its full output is on stdout\)\n/);
    expect(failure?.stderr).toContain('layer 4000: ');
    expect(failure?.stderr).not.toContain('layer 1: ');
    expect(failure?.stderr).toContain('error: failed to solve: process npm ci did not complete\n');
    expect(failure?.stderr.endsWith('==> step 2/2: build failed with exit code 17\n')).toBe(true);
  });

  it('prints the output of each step, stderr included, under its marker on stdout', () => {
    const script = renderScript({
      title: 't',
      env: {},
      steps: [
        { name: 'one', script: 'echo a; echo b >&2', timeout: 10 },
        { name: 'two', script: 'echo c', timeout: 10 },
      ],
    });
    const result = execFileSync('bash', ['-c', `${script}`], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    expect(result).toBe('==> step 1/2: one\na\nb\n==> step 2/2: two\nc\n');
  });

  it('kills a step that outlives its timeout', () => {
    // Prepare
    const script = renderScript({
      title: 't',
      env: {},
      steps: [{ name: 'slow', script: 'sleep 30', timeout: 1 }],
    });

    // Act
    const act = () => execFileSync('bash', ['-c', script], { cwd: dir, stdio: 'pipe' });

    // Assess: `timeout` exits 124
    expect(act).toThrow(expect.objectContaining({ status: 124 }));
  });

  it('changes to the working directory and switches to the run-as user with the STEPOPS variables kept', () => {
    // Act
    const script = renderScript({
      title: 'deploy test',
      env: { REF: 'v2' },
      workingDirectory: '/opt/app',
      user: 'ubuntu',
      steps: [{ name: 'show', script: 'echo "$STEPOPS_REF"', timeout: 10 }],
    });

    // Assess
    expect(script).toContain("cd '/opt/app'");
    expect(script).toContain(
      "sudo -u 'ubuntu' -H --preserve-env=STEPOPS_REF -- timeout 10 bash -euo pipefail -c",
    );
  });

  it('refuses an environment variable name that is not upper-case letters, digits and underscores', () => {
    // Act
    const act = () => renderScript({ title: 't', env: { 'REF; touch x': 'v1' }, steps: [] });

    // Assess
    expect(act).toThrow(InvalidInputError);
  });
});

describe('renderScript: how steps run on a host', () => {
  /** A directory with an executable `name` that prints `output`. */
  function toolDir(sub: string, name: string, output: string): string {
    const bin = path.join(dir, sub);
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho ${output}\n`, { mode: 0o755 });
    return bin;
  }

  function runWith(script: string, env: Record<string, string>) {
    return spawnSync('bash', ['-c', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env },
    });
  }

  it('puts the extra PATH entries first, so that a tool outside the default PATH is found', () => {
    // Prepare: a `go` in a directory SSM's default PATH does not have
    const bin = toolDir('go/bin', 'go', 'go version go1.23 linux/arm64');
    const steps = [{ name: 'build', script: 'go version', timeout: 10 }];

    // Act
    const without = runWith(renderScript({ title: 't', env: {}, steps }), {});
    const withPath = runWith(renderScript({ title: 't', env: {}, steps, path: [bin] }), {});

    // Assess
    expect(without.status).toBe(127);
    expect(withPath.status, withPath.stderr).toBe(0);
    expect(withPath.stdout).toContain('go version go1.23');
  });

  it("runs the steps in a login shell that reads the user's profile (nvm, rbenv)", () => {
    // Prepare: a profile that adds a tool directory, as nvm's installer does
    const home = path.join(dir, 'home-login');
    mkdirSync(home, { recursive: true });
    const bin = toolDir('nvm/bin', 'node-tool', 'from the profile');
    writeFileSync(path.join(home, '.bash_profile'), `export PATH="${bin}:$PATH"\n`);
    const steps = [{ name: 'build', script: 'node-tool', timeout: 10 }];

    // Act
    const plain = runWith(renderScript({ title: 't', env: {}, steps }), { HOME: home });
    const login = runWith(renderScript({ title: 't', env: {}, steps, loginShell: true }), { HOME: home });

    // Assess
    expect(plain.status).toBe(127);
    expect(login.status, login.stderr).toBe(0);
    expect(login.stdout).toContain('from the profile');
  });

  it('keeps strict mode in a login shell', () => {
    // Act
    const result = runWith(
      renderScript({
        title: 't',
        env: {},
        loginShell: true,
        steps: [{ name: 'broken', script: 'false\necho not-reached', timeout: 10 }],
      }),
      { HOME: dir },
    );

    // Assess
    expect(result.status).toBe(1);
    expect(result.stdout).not.toContain('not-reached');
  });

  it('refuses a PATH entry that is not an absolute plain path', () => {
    // Act
    const act = () =>
      renderScript({
        title: 't',
        env: {},
        path: ['bin:$(reboot)'],
        steps: [{ name: 's', script: 'true', timeout: 1 }],
      });

    // Assess
    expect(act).toThrow(InvalidInputError);
  });

  const hosts = { ids: ['i-0aaaaaaaaaaaaaaaa', 'i-0bbbbbbbbbbbbbbbb'], first: 2, count: 4 };
  const steps = [
    { name: 'where', script: 'echo "at $STEPOPS_HOST_INDEX of $STEPOPS_HOST_COUNT"', timeout: 10 },
    { name: 'migrate', script: 'echo migrating', timeout: 10, runOnce: true },
  ];

  it("gives every step the host's index in the run and the host count, from SSM's instance id", () => {
    // Act
    const result = runWith(renderScript({ title: 't', env: {}, steps, hosts }), {
      AWS_SSM_INSTANCE_ID: 'i-0bbbbbbbbbbbbbbbb',
    });

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('at 3 of 4');
  });

  it('runs a run-once step on host 0 only; the others say they skip it', () => {
    // Prepare
    const first = { ids: ['local:web-1', 'local:web-2'], first: 0, count: 2 };
    const script = renderScript({ title: 't', env: {}, steps, hosts: first });

    // Act
    const host0 = runWith(script, { STEPOPS_HOST: 'local:web-1' });
    const host1 = runWith(script, { STEPOPS_HOST: 'local:web-2' });

    // Assess
    expect(host0.stdout).toContain('migrating');
    expect(host1.status, host1.stderr).toBe(0);
    expect(host1.stdout).not.toContain('migrating');
    expect(host1.stdout).toContain('step 2/2: migrate: skipped, it runs once, on the first host');
  });

  it('fails on a host that is not one of the hosts the script was rendered for', () => {
    // Act
    const result = runWith(renderScript({ title: 't', env: {}, steps, hosts }), {
      AWS_SSM_INSTANCE_ID: 'i-0cccccccccccccccc',
    });

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'this host ("i-0cccccccccccccccc") is not one of the hosts of this command',
    );
    expect(result.stdout).not.toContain('==> step 1/2');
  });

  it('keeps the host variables across the switch to the run-as user', () => {
    // Act
    const script = renderScript({ title: 't', env: { REF: 'v2' }, user: 'ubuntu', steps, hosts });

    // Assess
    expect(script).toContain(
      '--preserve-env=STEPOPS_REF,STEPOPS_HOST_INDEX,STEPOPS_HOST_COUNT,STEPOPS_SKIP_REST -- timeout',
    );
    expect(script).toContain(`chown -- 'ubuntu' "$STEPOPS_SKIP_REST"`);
  });

  it('ends the script successfully after a step that writes a reason to $STEPOPS_SKIP_REST', () => {
    // Prepare
    rmSync(path.join(dir, 'ran'), { force: true });
    const script = renderScript({
      title: 'rollback test',
      env: {},
      steps: [
        { name: 'check', script: 'echo "nothing changed here" > "$STEPOPS_SKIP_REST"', timeout: 10 },
        { name: 'rebuild', script: 'echo rebuild >> ran', timeout: 10 },
        { name: 'restart', script: 'echo restart >> ran', timeout: 10 },
      ],
    });

    // Act
    const result = runWith(script, {});
    const skipped = !existsSync(path.join(dir, 'ran'));
    const again = runWith(script.replace('echo "nothing changed here" > "$STEPOPS_SKIP_REST"', 'true'), {});

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('==> nothing changed here: steps 2 to 3 skipped');
    expect(skipped).toBe(true);
    expect(again.status).toBe(0);
    expect(readFileSync(path.join(dir, 'ran'), 'utf8')).toBe('rebuild\nrestart\n');
  });
});

describe('renderScript: temporary files', () => {
  /** Runs a rendered script with its own TMPDIR; returns the exit code and what is left in TMPDIR. */
  function runInOwnTmp(script: string): { status: number | null; left: string[] } {
    const tmp = mkdtempSync(path.join(dir, 'tmp-'));
    const result = spawnSync('bash', ['-c', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: tmp },
    });
    if (result.error) throw result.error;
    return { status: result.status, left: readdirSync(tmp) };
  }

  it.each([
    ['passes', [{ name: 'ok', script: 'echo fine', timeout: 10 }], 0],
    ['fails', [{ name: 'bad', script: 'echo broken; exit 3', timeout: 10 }], 3],
    [
      'passes in several steps',
      [
        { name: 'one', script: 'echo one', timeout: 10 },
        { name: 'two', script: 'echo two', timeout: 10 },
      ],
      0,
    ],
    [
      'fails in its second step',
      [
        { name: 'one', script: 'echo one', timeout: 10 },
        { name: 'two', script: 'exit 4', timeout: 10 },
      ],
      4,
    ],
    [
      'stops early through its skip file',
      [
        { name: 'one', script: 'echo "nothing to do" > "$STEPOPS_SKIP_REST"', timeout: 10 },
        { name: 'two', script: 'exit 9', timeout: 10 },
      ],
      0,
    ],
  ])('leaves no temporary directory or file behind when the script %s', (_, steps, code) => {
    // Act
    const { status, left } = runInOwnTmp(renderScript({ title: 't', env: {}, steps }));

    // Assess
    expect(status).toBe(code);
    expect(left).toEqual([]);
  });
});
