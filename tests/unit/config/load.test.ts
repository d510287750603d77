import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  editDistance,
  formatIssue,
  formatPath,
  listTargetNames,
  loadTarget,
  loadTargets,
  PROJECT_ROOT,
  parseTarget,
  resolveTargetFile,
  suggestKey,
  TARGETS_DIR,
} from '../../../shared/config/load.ts';

const sharedUrl = pathToFileURL(path.join(PROJECT_ROOT, 'shared')).href;
let dir: string;

/** A copy of a real target file whose imports of `shared/` work from anywhere. */
async function copyOfTarget(name: string, edit: (source: string) => string = (s) => s): Promise<string> {
  const source = await readFile(path.join(TARGETS_DIR, `${name}.ts`), 'utf8');
  const relocated = source.replaceAll("'../shared/", `'${sharedUrl}/`);
  expect(relocated).not.toBe(source);
  return edit(relocated);
}

/** Replaces one exact fragment, failing the test when the fragment is not there. */
function replaceOnce(source: string, from: string, to: string): string {
  expect(source).toContain(from);
  return source.replace(from, to);
}

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepops-load-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadTarget', () => {
  it('loads every real target file by name', async () => {
    // Act
    const target = await loadTarget('zmanim');

    // Assess
    expect(target.name).toBe('zmanim');
    expect(target.hosts).toMatchObject({ type: 'ec2', region: 'eu-west-1', user: 'ec2-user' });
  });

  it('reports every error of a broken copy with its file and path', async () => {
    // Prepare
    const file = path.join(dir, 'datizmo.ts');
    await writeFile(
      file,
      await copyOfTarget('datizmo', (s) => {
        let broken = replaceOnce(
          s,
          "{ name: 'migrate-database', script: migrate, timeout: 600, runOnce: true }",
          "{ name: 'migrate-database', script: migrate, timeout: 0, runOnce: true }",
        );
        broken = replaceOnce(broken, "schedule: 'rate(5 minutes)'", "schedule: 'every 5 minutes'");
        broken = replaceOnce(broken, "url: 'https://datizmo.com/'", "url: 'ftp://datizmo.com/'");
        return broken;
      }),
    );

    // Act
    const error = await rejection(loadTarget(file));

    // Assess
    const found = error.issues.map((i) => `${i.path}: ${i.message}`);
    expect(error.issues.every((i) => i.file === file)).toBe(true);
    expect(found).toEqual(
      expect.arrayContaining([
        'deploy.steps[2].timeout: expected a positive number of seconds, got 0',
        expect.stringMatching(/^health\.schedule: expected "rate\(N.*, got "every 5 minutes"$/),
        'health.probes[0].url: expected an http:// or https:// URL, got "ftp://datizmo.com/"',
      ]),
    );
    expect(error.message).toContain(
      `${file}: deploy.steps[2].timeout: expected a positive number of seconds, got 0`,
    );
  });

  it('reports cross-reference errors (health gate, runbooks) with their paths', async () => {
    // Prepare
    const file = path.join(dir, 'shop.ts');
    await writeFile(
      file,
      await copyOfTarget('shop', (s) => {
        let broken = replaceOnce(
          s,
          "probes: ['gateway-health', 'gateway-ready', 'backend-health', 'mongodb']",
          "probes: ['gateway-health', 'nope']",
        );
        broken = replaceOnce(broken, "backup: 'mongodb',", "backup: 'volumes',");
        return broken;
      }),
    );

    // Act
    const error = await rejection(loadTarget(file));

    // Assess
    expect(error.issues.map(formatIssue)).toEqual([
      `${file}: deploy.healthGate.probes[1]: no health probe named "nope"`,
      `${file}: recovery.restore-mongodb.steps[0].backup: no dump backup named "volumes"`,
    ]);
  });

  it('reports a missing file with the known targets', async () => {
    // Act
    const error = await rejection(loadTarget('nope'));

    // Assess
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ file: path.join('targets', 'nope.ts'), path: '' });
    expect(error.issues[0]?.message).toMatch(/^no such target file \(known targets: .*datizmo.*zmanim/);
  });

  it('reports a file without a default export', async () => {
    // Prepare
    const file = path.join(dir, 'nodefault.ts');
    await writeFile(file, "export const target = { name: 'nodefault' };\n");

    // Act
    const error = await rejection(loadTarget(file));

    // Assess
    expect(error.issues).toEqual([
      { file, path: '', message: 'expected `export default defineTarget({...})`' },
    ]);
  });

  it('reports a target whose name does not match its file', async () => {
    // Prepare
    const file = path.join(dir, 'renamed.ts');
    await writeFile(file, await copyOfTarget('docsai'));

    // Act
    const error = await rejection(loadTarget(file));

    // Assess
    expect(error.issues).toEqual([
      { file, path: 'name', message: 'expected "renamed" to match the file name, got "docsai"' },
    ]);
  });

  it('reports a file that cannot be loaded, with the first line of the cause', async () => {
    // Prepare
    const file = path.join(dir, 'throws.ts');
    await writeFile(file, "import './does-not-exist.ts';\nexport default {};\n");

    // Act
    const error = await rejection(loadTarget(file));

    // Assess
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.message).toMatch(/^cannot load the file: /);
    expect(error.issues[0]?.message).not.toContain('\n');
  });
});

describe('config errors a person can act on', () => {
  it('names an unknown key with the allowed key it is closest to', async () => {
    // Prepare
    const file = path.join(dir, 'zmanim.ts');
    await writeFile(
      file,
      await copyOfTarget('zmanim', (s) => {
        let broken = replaceOnce(s, 'healthGate: {', 'healthgate: {');
        broken = replaceOnce(
          broken,
          'expectStatus: [200],\n        bodyContains',
          'expectstatus: [200],\n        bodyContains',
        );
        broken = replaceOnce(broken, "workingDirectory: '/opt/zmanim',", "workingdir: '/opt/zmanim',");
        return broken;
      }),
    );

    // Act
    const error = await rejection(loadTarget(file));

    // Assess
    expect(error.issues.map(formatIssue)).toEqual([
      `${file}: hosts.workingDirectory: missing key "workingDirectory" (expected an absolute path)`,
      `${file}: hosts: unknown key "workingdir" (did you mean "workingDirectory"?)`,
      `${file}: deploy.healthGate: missing key "healthGate" (expected an object)`,
      `${file}: deploy: unknown key "healthgate" (did you mean "healthGate"?)`,
      `${file}: health.probes[0]: unknown key "expectstatus" (did you mean "expectStatus"?)`,
    ]);
  });

  it('lists the allowed keys when no key is close, and names a missing key and a wrong type', () => {
    // Prepare
    const value = {
      name: 'x',
      description: 'an app',
      hosts: { type: 'local', directory: 'x' },
      deploy: {
        steps: [{ name: 'build', script: 'make', timeout: '300' }],
        rollback: [{ name: 'back', script: 'make back' }],
        healthGate: { probes: ['up'], timeout: 30 },
      },
      health: { schedule: 'rate(1 minute)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
      owner: 'ops',
    };

    // Act
    const act = () => parseTarget(value, 'targets/x.ts');

    // Assess
    expect(act).toThrow(ConfigError);
    expect(() => act()).toThrow(
      [
        'targets/x.ts: deploy.steps[0].timeout: expected a positive number of seconds, got the string "300"',
        'targets/x.ts: deploy.rollback[0].timeout: missing key "timeout" (expected a positive number of seconds)',
        'targets/x.ts: unknown key "owner" (expected one of: "name", "description", "repository", "hosts", "deploy", "health", "backup", "backupOptions", "recovery", "maintenance", "alerts")',
      ].join('\n'),
    );
  });

  it.each([
    [
      { timeout: 3, interval: 5 },
      'the gate can never pass: 2 passing rounds 5 s apart need at least 5 s, the timeout is 3 s',
    ],
    [
      { timeout: 20, interval: 10, successes: 4 },
      'the gate can never pass: 4 passing rounds 10 s apart need at least 30 s, the timeout is 20 s',
    ],
    [
      { timeout: 3, interval: 5, successes: 1 },
      '3 s is shorter than the interval (5 s): the gate gets one round and no second chance; make the timeout at least the interval',
    ],
  ])('refuses a health gate that cannot pass (%o)', (gate, message) => {
    // Prepare
    const value = {
      name: 'x',
      description: 'an app',
      hosts: { type: 'local', directory: 'x' },
      deploy: {
        steps: [{ name: 'build', script: 'make', timeout: 300 }],
        rollback: [{ name: 'back', script: 'make back', timeout: 300 }],
        healthGate: { probes: ['up'], ...gate },
      },
      health: { schedule: 'rate(1 minute)', probes: [{ name: 'up', type: 'command', script: 'true' }] },
    };

    // Act
    const act = () => parseTarget(value, 'targets/x.ts');

    // Assess
    expect(act).toThrow(`targets/x.ts: deploy.healthGate.timeout: ${message}`);
  });
});

describe('suggestKey', () => {
  it('suggests the closest key, ignoring case, only when it is close', () => {
    expect(suggestKey('healthgate', ['steps', 'rollback', 'healthGate'])).toBe('healthGate');
    expect(suggestKey('rolback', ['steps', 'rollback', 'healthGate'])).toBe('rollback');
    expect(suggestKey('owner', ['steps', 'rollback', 'healthGate'])).toBeUndefined();
    expect(suggestKey('workingdir', ['user', 'workingDirectory'])).toBe('workingDirectory');
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('loadTargets', () => {
  it('collects the valid targets and the issues of every invalid file', async () => {
    // Prepare
    const targetsDir = await mkdtemp(path.join(dir, 'targets-'));
    await writeFile(path.join(targetsDir, 'zmanim.ts'), await copyOfTarget('zmanim'));
    await writeFile(
      path.join(targetsDir, 'ai-chat.ts'),
      await copyOfTarget('ai-chat', (s) =>
        replaceOnce(s, 'region: unfilled("AWS region of ai-chat\'s EC2 instance")', "region: 'nowhere'"),
      ),
    );
    await writeFile(path.join(targetsDir, 'index.ts'), 'export const targets = {};\n');

    // Act
    const result = await loadTargets([], targetsDir);

    // Assess
    expect(result.targets.map((t) => t.name)).toEqual(['zmanim']);
    expect(result.issues).toEqual([
      {
        file: path.join(targetsDir, 'ai-chat.ts'),
        path: 'hosts.region',
        message: 'expected an AWS region such as "eu-west-1", got "nowhere"',
      },
    ]);
  });
});

describe('helpers', () => {
  it('formats paths and issues the way an editor writes them', () => {
    expect(formatPath(['deploy', 'steps', 2, 'timeout'])).toBe('deploy.steps[2].timeout');
    expect(formatPath(['backup', 0])).toBe('backup[0]');
    expect(formatIssue({ file: 'targets/x.ts', path: 'name', message: 'bad' })).toBe(
      'targets/x.ts: name: bad',
    );
    expect(formatIssue({ file: 'targets/x.ts', path: '', message: 'missing' })).toBe('targets/x.ts: missing');
  });

  it('resolves names to targets/ and paths to themselves', () => {
    expect(resolveTargetFile('shop')).toBe(path.join(TARGETS_DIR, 'shop.ts'));
    expect(resolveTargetFile('./x/shop.ts')).toBe(path.resolve('x/shop.ts'));
    expect(resolveTargetFile('y.ts')).toBe(path.resolve('y.ts'));
  });

  it('lists target files without index.ts', async () => {
    const names = await listTargetNames();
    expect(names).toEqual(expect.arrayContaining(['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim']));
    expect(names).not.toContain('index');
  });

  it('parseTarget throws a ConfigError naming the given file', () => {
    expect(() => parseTarget({ name: 'x' }, 'inline.ts')).toThrow(/^inline\.ts: description: /m);
  });
});
