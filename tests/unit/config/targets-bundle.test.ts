/**
 * The targets a Lambda holds, validated when it is built: every target file of the directory
 * validated (an invalid one fails the build, naming file and path), the validated targets as JSON
 * data (every example target survives the round trip), the plugin file as SST's bridge runs it, and
 * a bundle built with it whose registry answers from the data without zod, the target model or the
 * target files.
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambda } from '../../../bench/bundles.ts';
import { labTarget } from '../../../lab/target.ts';
import { listTargetFiles } from '../../../shared/config/discovery.ts';
import {
  ConfigError,
  loadTargets,
  PROJECT_ROOT,
  parseTarget,
  TARGETS_DIR,
} from '../../../shared/config/load.ts';
import type { Target } from '../../../shared/config/schema.ts';
import {
  BUNDLED_TARGETS_MODULE,
  bundledTargetsModule,
  jsonMismatch,
  NO_VALIDATION_MODULE,
  TARGET_VALIDATION_MODULE,
  validateTargetFiles,
  writeTargetsPlugin,
} from '../../../shared/config/targets-bundle.ts';
import { ensureSstPlatform } from '../../infra/sst-install.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const SST_PLUGIN_BRIDGE = path.join(PROJECT_ROOT, '.sst/platform/functions/nodejs-runtime/plugin.mjs');
const REGISTRY = path.join(PROJECT_ROOT, 'shared/config/registry.ts');
const FIXTURE_TARGETS = path.join(PROJECT_ROOT, 'tests/fixtures/targets');

const ALPHA = `import { tags } from './_tags.ts';
export default { name: 'alpha', description: 'first', hosts: { type: 'ec2', region: 'eu-west-1', tags, workingDirectory: '/opt/alpha' } };
`;
const GAMMA = `export default {
  name: 'gamma',
  description: 'second',
  deploy: undefined,
  hosts: { type: 'ec2', region: 'us-east-1', instanceIds: ['i-0123456789abcdef0'], workingDirectory: '/opt/gamma' },
};
`;
// Compiles (it is valid TypeScript) but is no valid target: no description, a relative directory.
const BETA = `export default { name: 'beta', hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'b' }, workingDirectory: 'b' } };
`;

let root: string;
let dir: string;
let pluginFile: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-bundle-'));
  dir = path.join(root, 'targets');
  await mkdir(dir);
  await writeFile(path.join(dir, 'alpha.ts'), ALPHA);
  await writeFile(
    path.join(dir, '_tags.ts'),
    "export const tags: Record<string, string> = { App: 'alpha' };\n",
  );
  await writeFile(path.join(dir, 'gamma.ts'), GAMMA);
  await writeFile(path.join(dir, 'alpha.test.ts'), 'throw new Error("not a target");\n');
  pluginFile = path.join(root, '.sst', 'stepops', 'targets-plugin.mjs');
  writeTargetsPlugin(pluginFile, await validateTargetFiles(listTargetFiles(dir).files, root));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('jsonMismatch', () => {
  it('finds no mismatch in plain data, and drops a key whose value is undefined as JSON does', () => {
    expect(jsonMismatch({ a: 'x', b: [1, 2.5, true, null, { c: -3 }], d: undefined })).toBeUndefined();
  });

  it.each([
    [
      'the number Infinity',
      'deploy.steps[0].timeout',
      { deploy: { steps: [{ timeout: Number.POSITIVE_INFINITY }] } },
    ],
    ['the number NaN', 'a', { a: Number.NaN }],
    ['the number -0', 'a', { a: -0 }],
    ['a RegExp', 'probe.match', { probe: { match: /ok/ } }],
    ['a Date', 'since', { since: new Date(0) }],
    ['a function', 'hosts.pick', { hosts: { pick: () => 1 } }],
    ['undefined', 'list[1]', { list: [1, undefined] }],
    ['a Map', 'tags', { tags: new Map() }],
    ['a bigint', 'size', { size: 1n }],
  ] as const)('names %s at %s, a value JSON does not keep', (what, where, value) => {
    expect(jsonMismatch(value)).toEqual({ path: where, what });
  });
});

describe('the example targets as JSON data', () => {
  it('every target of targets/, the lab target and the full fixture survive a JSON round trip unchanged and validate again', async () => {
    // Prepare
    const examples = await loadTargets([], TARGETS_DIR);
    const fixtures = await loadTargets([], FIXTURE_TARGETS);
    const targets: Target[] = [
      ...examples.targets,
      ...fixtures.targets,
      parseTarget(labTarget({ name: 'lab' }), 'lab/target.ts', 'lab'),
    ];

    // Assess
    expect([...examples.issues, ...fixtures.issues]).toEqual([]);
    expect(examples.targets.map((t) => t.name)).toEqual([
      'ai-chat',
      'datizmo',
      'demo',
      'docsai',
      'shop',
      'zmanim',
    ]);
    expect(fixtures.targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      expect(jsonMismatch(target), target.name).toBeUndefined();
      const data = JSON.parse(JSON.stringify(target)) as Target;
      expect(data, target.name).toStrictEqual(target);
      // …and is a valid input again (what the registry gives as a Lambda's discovered inputs)
      expect(parseTarget(data, `${target.name} as data`, target.name), target.name).toStrictEqual(target);
    }
  });
});

describe('validateTargetFiles', () => {
  it('gives each target validated (defaults applied) with its name and its file as messages show it', async () => {
    // Act
    const targets = await validateTargetFiles(listTargetFiles(dir).files, root);

    // Assess
    expect(targets.map((t) => [t.name, t.file])).toEqual([
      ['alpha', 'targets/alpha.ts'],
      ['gamma', 'targets/gamma.ts'],
    ]);
    expect(targets[0]?.target.hosts).toEqual({
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'alpha' },
      user: 'root',
      workingDirectory: '/opt/alpha',
    });
  });

  it('refuses the build with every problem of an invalid target, naming its file and paths', async () => {
    // Prepare
    const invalid = path.join(root, 'invalid');
    await mkdir(invalid, { recursive: true });
    await writeFile(path.join(invalid, 'alpha.ts'), ALPHA);
    await writeFile(path.join(invalid, '_tags.ts'), "export const tags = { App: 'alpha' };\n");
    await writeFile(path.join(invalid, 'beta.ts'), BETA);
    const beta = path.join(invalid, 'beta.ts');

    // Act
    const act = validateTargetFiles(listTargetFiles(invalid).files, root);

    // Assess
    await expect(act).rejects.toThrow(ConfigError);
    const error = (await act.catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((i) => [i.file, i.path]).sort()).toEqual([
      [beta, 'description'],
      [beta, 'hosts.workingDirectory'],
    ]);
    expect(error.message).toContain(`${beta}: description: missing key "description"`);
  });

  it('refuses a target file that does not load', async () => {
    // Prepare
    const broken = path.join(root, 'broken');
    await mkdir(broken, { recursive: true });
    await writeFile(path.join(broken, 'delta.ts'), "export default { name: 'delta',\n");

    // Act
    const act = validateTargetFiles(listTargetFiles(broken).files, root);

    // Assess
    await expect(act).rejects.toThrow(ConfigError);
    await expect(act).rejects.toThrow('delta.ts: cannot load the file');
  });
});

describe('bundledTargetsModule', () => {
  it('holds the validated targets as one JSON string parsed when the Lambda starts', () => {
    // Prepare
    const target = { name: 'shop', description: 'a "quoted" shop' } as unknown as Target;

    // Act
    const source = bundledTargetsModule([{ name: 'shop', file: 'stepops/targets/shop.ts', target }]);

    // Assess
    expect(source).toBe(
      [
        '// Generated by the stepops targets plugin when the Lambdas are built: do not edit.',
        `export const bundledTargets = JSON.parse(${JSON.stringify(
          '[{"name":"shop","file":"stepops/targets/shop.ts","target":{"name":"shop","description":"a \\"quoted\\" shop"}}]',
        )});`,
        '',
      ].join('\n'),
    );
    expect(source).not.toMatch(/\bimport\b/);
  });

  it('replaces the bundled-targets and target-validation modules from source or compiled, and nothing else', () => {
    expect(BUNDLED_TARGETS_MODULE.test('/app/shared/config/bundled-targets.ts')).toBe(true);
    expect(
      BUNDLED_TARGETS_MODULE.test('/app/node_modules/stepops/dist/shared/config/bundled-targets.js'),
    ).toBe(true);
    expect(BUNDLED_TARGETS_MODULE.test('/app/shared/config/registry.ts')).toBe(false);
    expect(BUNDLED_TARGETS_MODULE.test('/app/shared/config/bundled-targets.ts.bak')).toBe(false);
    expect(TARGET_VALIDATION_MODULE.test('/app/shared/config/target-validation.ts')).toBe(true);
    expect(
      TARGET_VALIDATION_MODULE.test('/app/node_modules/stepops/dist/shared/config/target-validation.js'),
    ).toBe(true);
    expect(TARGET_VALIDATION_MODULE.test('/app/shared/config/load.ts')).toBe(false);
  });
});

/** Sends requests to SST's plugin bridge (run with plain `node`, as SST runs it) and reads its replies. */
async function throughSstBridge(requests: { command: string; value: Record<string, unknown> }[]) {
  const child = spawn('node', [SST_PLUGIN_BRIDGE, pluginFile], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  for (const [id, request] of requests.entries())
    child.stdin.write(`${JSON.stringify({ id, ...request })}\n`);
  while (stdout.split('\n').filter(Boolean).length < requests.length && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { id: number; value: Record<string, unknown> });
}

describe('the targets plugin file', () => {
  it("answers SST's plugin bridge with the targets' data and no validation, and leaves the rest", async () => {
    // Prepare: the bridge ships with SST's platform (`sst install`), as the infra tests need it.
    ensureSstPlatform();

    // Act
    const replies = await throughSstBridge([
      { command: 'load', value: { path: path.join(PROJECT_ROOT, 'shared/config/bundled-targets.ts') } },
      { command: 'load', value: { path: path.join(PROJECT_ROOT, 'shared/config/target-validation.ts') } },
      { command: 'load', value: { path: path.join(PROJECT_ROOT, 'shared/config/schema.ts') } },
    ]);

    // Assess
    const byId = new Map(replies.map((r) => [r.id, r.value]));
    expect(byId.get(0)).toEqual({
      contents: bundledTargetsModule(await validateTargetFiles(listTargetFiles(dir).files, root)),
      loader: 'js',
    });
    expect(byId.get(1)).toEqual({ contents: NO_VALIDATION_MODULE, loader: 'js' });
    expect(byId.get(2)).toEqual({});
  });

  it('gives a bundle whose registry answers from the data, without zod, the model or the target files', async () => {
    // Prepare
    const plugins = ((await import(pathToFileURL(pluginFile).href)) as { default: Plugin[] }).default;
    const entry = `import { findTarget, listTargets, registerTarget, discoverTargets } from ${JSON.stringify(REGISTRY)};
const result = { names: [], alpha: null, gamma: null, unknown: null, registered: null, discover: null };
const failure = (act) => { try { act(); return null; } catch (error) { return { name: error.name, message: error.message }; } };
try {
  result.names = listTargets();
  result.alpha = findTarget('alpha').hosts;
  result.gamma = findTarget('gamma');
  result.same = findTarget('alpha') === findTarget('alpha');
  result.unknown = failure(() => findTarget('omega'));
  registerTarget({ name: 'fixture', description: 'a test host', hosts: { type: 'local', directory: '/tmp/host' } });
  result.registered = failure(() => findTarget('fixture'));
  result.discover = await discoverTargets().then(() => null, (error) => ({ name: error.name, message: error.message }));
} catch (error) { result.names = error.name; }
console.log(JSON.stringify(result));
`;
    const bundle = async (outdir: string, withPlugin: boolean) => {
      // Built as the stack builds a Lambda: code splitting, the entry file and its chunks
      const built = await buildLambda({
        root: PROJECT_ROOT,
        plugins: withPlugin ? plugins : [],
        stdin: entry,
        outdir,
      });
      const run = spawnSync(NODE, [built.entryFile], { encoding: 'utf8', cwd: root });
      expect(run.status, run.stderr).toBe(0);
      return {
        inputs: Object.keys(built.metafile.inputs),
        result: JSON.parse(run.stdout) as Record<string, unknown>,
      };
    };

    // Act
    const withPlugin = await bundle(path.join(root, 'with'), true);
    const without = await bundle(path.join(root, 'without'), false);

    // Assess: the registry answers from the data
    expect(withPlugin.result.names).toEqual(['alpha', 'gamma']);
    expect(withPlugin.result.alpha).toEqual({
      type: 'ec2',
      region: 'eu-west-1',
      tags: { App: 'alpha' },
      user: 'root',
      workingDirectory: '/opt/alpha',
    });
    expect(withPlugin.result.gamma).toMatchObject({
      name: 'gamma',
      hosts: { instanceIds: ['i-0123456789abcdef0'] },
    });
    expect(withPlugin.result.gamma).not.toHaveProperty('deploy');
    expect(withPlugin.result.same).toBe(true);
    expect(withPlugin.result.unknown).toEqual({
      name: 'UnknownTargetError',
      message: 'unknown target "omega" (known targets: alpha, gamma)',
    });
    expect(withPlugin.result.registered).toMatchObject({ name: 'TargetValidationUnavailableError' });
    expect(withPlugin.result.discover).toMatchObject({ name: 'TargetValidationUnavailableError' });
    // …without zod, the target model, its loader or the target files
    const heavy = (inputs: string[]) =>
      inputs.filter((i) =>
        /node_modules\/zod\/|shared\/config\/(schema|load|schedule)\.ts|targets\//.test(i),
      );
    expect(heavy(withPlugin.inputs)).toEqual([]);
    // A bundle without the plugin validates from source and has discovered nothing.
    expect(without.result.names).toBe('TargetsNotDiscoveredError');
    expect(heavy(without.inputs)).toContain('shared/config/schema.ts');
    expect(heavy(without.inputs).some((i) => i.includes('node_modules/zod/'))).toBe(true);
  });
});
