/**
 * Which files of the targets directory are targets, which directory that is, and what the registry
 * makes of a directory with a target that does not load or is invalid.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  chooseTargetsDirectory,
  classifyTargetFile,
  listTargetFiles,
  TargetsDirectoryError,
  targetsDirectory,
} from '../../../shared/config/discovery.ts';
import { ConfigError, TARGETS_DIR } from '../../../shared/config/load.ts';
import {
  clearRegisteredTargets,
  discoverTargets,
  findTarget,
  isRegistered,
  listTargets,
  registerTarget,
} from '../../../shared/config/registry.ts';
import { InvalidInputError } from '../../../shared/errors.ts';

const VALID = (name: string) => `export default {
  name: '${name}',
  description: 'a target of the test',
  hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: '${name}' }, workingDirectory: '/opt/${name}' },
};
`;

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-discovery-'));
  dir = path.join(root, 'targets');
  await mkdir(path.join(dir, 'nested'), { recursive: true });
  const files: Record<string, string> = {
    'billing-api.ts': VALID('billing-api'),
    'web.ts': `import { tags } from './_common.ts';
export default {
  name: 'web',
  description: 'a target sharing a helper',
  hosts: { type: 'ec2', region: 'eu-west-1', tags, workingDirectory: '/opt/web' },
};
`,
    '_common.ts': "export const tags = { App: 'web' };\n",
    'web.test.ts': 'throw new Error("a test file is not a target");\n',
    'index.ts': 'throw new Error("index.ts is not a target");\n',
    'types.d.ts': 'export type X = string;\n',
    'README.md': '# targets\n',
    'Bad_Name.ts': VALID('bad'),
    'nested/inner.ts': VALID('inner'),
    // Loads, but is no valid target: a missing description and a bad region.
    'invalid.ts': `export default { name: 'invalid', hosts: { type: 'ec2', region: 'Virginia', tags: { App: 'x' }, workingDirectory: '/opt/x' } };\n`,
    // Does not load: a syntax error.
    'broken.ts': 'export default { name: "broken", \n',
  };
  for (const [file, source] of Object.entries(files)) await writeFile(path.join(dir, file), source);
});
afterEach(() => {
  chooseTargetsDirectory(undefined);
  clearRegisteredTargets();
});
afterAll(async () => {
  await discoverTargets(TARGETS_DIR);
  await rm(root, { recursive: true, force: true });
});

describe('classifyTargetFile', () => {
  it.each([
    ['ai-chat.ts', { kind: 'target', name: 'ai-chat' }],
    ['shop2.ts', { kind: 'target', name: 'shop2' }],
    ['ai-chat.test.ts', 'skipped'],
    ['ai-chat.spec.ts', 'skipped'],
    ['types.d.ts', 'skipped'],
    ['_common.ts', 'skipped'],
    ['.hidden.ts', 'skipped'],
    ['index.ts', 'skipped'],
    ['README.md', 'skipped'],
    ['ai-chat.js', 'skipped'],
    ['ai-chat.mts', 'skipped'],
    ['AiChat.ts', 'invalid'],
    ['ai_chat.ts', 'invalid'],
    ['2fa.ts', 'invalid'],
    [`${'a'.repeat(64)}.ts`, 'invalid'],
  ] as const)('%s is %j', (file, expected) => {
    // Act
    const kind = classifyTargetFile(file);

    // Assess
    if (typeof expected === 'string') expect(kind.kind).toBe(expected);
    else expect(kind).toEqual(expected);
  });
});

describe('listTargetFiles', () => {
  it('lists the <name>.ts files, skips tests, helpers, index.ts, declarations and folders, and names a misnamed file', () => {
    // Act
    const { files, issues } = listTargetFiles(dir);

    // Assess
    expect(files).toEqual([
      { name: 'billing-api', file: path.join(dir, 'billing-api.ts') },
      { name: 'broken', file: path.join(dir, 'broken.ts') },
      { name: 'invalid', file: path.join(dir, 'invalid.ts') },
      { name: 'web', file: path.join(dir, 'web.ts') },
    ]);
    expect(issues).toEqual([
      {
        file: path.join(dir, 'Bad_Name.ts'),
        path: '',
        message:
          '"Bad_Name" is not a target name (lowercase letters, digits and dashes, starting with a letter, at most 63): rename the file, or start its name with "_" if it is not a target',
      },
    ]);
  });

  it('refuses a directory that does not exist or is a file, naming it and how to set it', () => {
    // Act
    const missing = () => listTargetFiles(path.join(root, 'nope'));
    const file = () => listTargetFiles(path.join(dir, 'web.ts'));

    // Assess
    expect(missing).toThrow(TargetsDirectoryError);
    expect(missing).toThrow(InvalidInputError);
    expect(missing).toThrow(
      `targets directory ${path.join(root, 'nope')}: no such directory (set it with --targets <dir> or STEPOPS_TARGETS_DIR)`,
    );
    expect(file).toThrow(`targets directory ${path.join(dir, 'web.ts')}: not a directory`);
  });
});

describe('targetsDirectory', () => {
  it('takes the option, else the command line, else STEPOPS_TARGETS_DIR, else stepops/targets/ if it exists, else targets/', async () => {
    // Prepare: an app with no stepops/targets/, one with it
    const bare = path.join(root, 'bare');
    const initialised = path.join(root, 'app');
    await mkdir(bare);
    await mkdir(path.join(initialised, 'stepops', 'targets'), { recursive: true });
    const env = { STEPOPS_TARGETS_DIR: 'ops/targets' };

    // Act & Assess
    expect(targetsDirectory({ cwd: bare, env: {} })).toBe(path.join(bare, 'targets'));
    expect(targetsDirectory({ cwd: initialised, env: {} })).toBe(
      path.join(initialised, 'stepops', 'targets'),
    );
    expect(targetsDirectory({ cwd: initialised, env })).toBe(path.join(initialised, 'ops', 'targets'));
    expect(targetsDirectory({ cwd: initialised, env: { STEPOPS_TARGETS_DIR: ' ' } })).toBe(
      path.join(initialised, 'stepops', 'targets'),
    );
    expect(targetsDirectory({ cwd: initialised, env, dir: '/srv/targets' })).toBe('/srv/targets');
    chooseTargetsDirectory('chosen');
    expect(targetsDirectory({ cwd: initialised, env })).toBe(path.resolve('chosen'));
    expect(targetsDirectory({ cwd: initialised, env, dir: 'given' })).toBe(path.join(initialised, 'given'));
  });
});

describe('discoverTargets', () => {
  it('knows every target file of the directory; a file that does not load or is invalid fails alone, naming the file', async () => {
    // Act
    const misnamed = await discoverTargets(dir);

    // Assess
    expect(misnamed.map((issue) => issue.file)).toEqual([path.join(dir, 'Bad_Name.ts')]);
    expect(listTargets()).toEqual(['billing-api', 'broken', 'invalid', 'web']);
    expect(findTarget('billing-api').hosts).toMatchObject({
      type: 'ec2',
      workingDirectory: '/opt/billing-api',
    });
    expect(findTarget('web').hosts).toMatchObject({ tags: { App: 'web' } });
    expect(isRegistered('web')).toBe(false);
    expect(() => findTarget('broken')).toThrow(ConfigError);
    expect(() => findTarget('broken')).toThrow(`${path.join(dir, 'broken.ts')}: cannot load the file`);
    expect(() => findTarget('invalid')).toThrow(`${path.join(dir, 'invalid.ts')}: description: missing key`);
    expect(() => findTarget('invalid')).toThrow(`${path.join(dir, 'invalid.ts')}: hosts.region:`);
    expect(() => findTarget('shop')).toThrow(
      'unknown target "shop" (known targets: billing-api, broken, invalid, web)',
    );
  });

  it('replaces what an earlier call found, and a registered target still takes precedence', async () => {
    // Prepare
    await discoverTargets(dir);
    registerTarget({
      ...(await import(path.join(dir, 'billing-api.ts'))).default,
      description: 'registered',
    });

    // Act
    await discoverTargets(TARGETS_DIR);

    // Assess
    expect(listTargets()).toEqual(['ai-chat', 'billing-api', 'datizmo', 'demo', 'docsai', 'shop', 'zmanim']);
    expect(findTarget('billing-api').description).toBe('registered');
    clearRegisteredTargets();
    expect(() => findTarget('billing-api')).toThrow('unknown target "billing-api"');
  });

  it('refuses a named directory that does not exist, and changes nothing', async () => {
    // Prepare
    await discoverTargets(dir);

    // Act
    const act = discoverTargets(path.join(root, 'nope'));

    // Assess
    await expect(act).rejects.toThrow(TargetsDirectoryError);
    expect(listTargets()).toEqual(['billing-api', 'broken', 'invalid', 'web']);
  });

  it('must run before the registry answers outside a Lambda bundle', async () => {
    // Prepare: a registry module that nothing discovered for yet
    vi.resetModules();
    const fresh = await import('../../../shared/config/registry.ts');

    // Act
    const act = () => fresh.listTargets();

    // Assess
    expect(act).toThrow(fresh.TargetsNotDiscoveredError);
    expect(act).toThrow('the targets have not been discovered: call discoverTargets() first');
    expect(() => fresh.findTarget('zmanim')).toThrow(fresh.TargetsNotDiscoveredError);
  });
});
