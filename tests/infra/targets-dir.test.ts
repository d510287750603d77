/**
 * The stacks built from a targets directory of the app's (as a user's `sst.config.ts` builds them
 * from the package), under Pulumi's mock runtime: the stage serves the ec2 targets of that
 * directory, and every function is built with the targets plugin that holds exactly those targets,
 * validated, as data. A file named as no target may be, or a target file that does not load or does
 * not validate, refuses the stage.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetsDirectoryError } from '../../shared/config/discovery.ts';
import { ConfigError, TARGETS_DIR } from '../../shared/config/load.ts';
import { discoverTargets, listTargets } from '../../shared/config/registry.ts';
import { StageConfigError } from '../../stacks/settings.ts';
import { LAMBDA, type MockRun, ROOT, runUnderMocks } from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

let root: string;
let dir: string;
let run: MockRun<Record<string, string>>;

const createStacks = async (options: { targetsDir?: string } = {}) =>
  (await import('../../stacks/index.ts')).createStacks(options);

async function writeTargets(into: string, files: Record<string, string>): Promise<void> {
  await mkdir(into, { recursive: true });
  for (const [file, source] of Object.entries(files)) await writeFile(path.join(into, file), source);
}

/** What the plugins load for a module of shared/config, as esbuild would ask them. */
async function loadedContents(plugins: Plugin[], module: string): Promise<string | undefined> {
  const onLoad: ((args: { path: string }) => unknown)[] = [];
  for (const plugin of plugins) {
    void plugin.setup({
      onLoad: (_: unknown, callback: (args: { path: string }) => unknown) => onLoad.push(callback),
    } as never);
  }
  for (const callback of onLoad) {
    const result = (await callback({ path: path.join(ROOT, 'shared/config', module) })) as
      | { contents?: string }
      | undefined;
    if (result?.contents) return result.contents;
  }
  return undefined;
}

beforeAll(async () => {
  ensureSstPlatform();
  root = await mkdtemp(path.join(tmpdir(), 'stepops-app-'));
  dir = path.join(root, 'stepops', 'targets');
  await writeTargets(dir, {
    'billing-api.ts': `import { region } from './_shared.ts';
export default {
  name: 'billing-api',
  description: 'the billing API of the app',
  hosts: { type: 'ec2', region, tags: { 'stepops:target': 'billing-api' }, workingDirectory: '/opt/billing' },
};
`,
    '_shared.ts': "export const region = 'eu-west-1';\n",
    'rehearsal.ts': `export default {
  name: 'rehearsal',
  description: 'the same app on local hosts',
  hosts: { type: 'local', directory: '${path.join(root, 'host')}' },
};
`,
    'billing-api.test.ts': 'throw new Error("a test file is not a target");\n',
  });
  run = (await runUnderMocks(() => createStacks({ targetsDir: dir }))) as unknown as MockRun<
    Record<string, string>
  >;
}, 240_000);

afterAll(async () => {
  await discoverTargets(TARGETS_DIR);
  await rm(root, { recursive: true, force: true });
});

describe('the stacks built from a targets directory', () => {
  it('serve the ec2 targets of that directory, the local one left to the local engine', () => {
    // Assess
    expect(run.outputs.targets).toBe('billing-api');
    expect(listTargets()).toEqual(['billing-api', 'rehearsal']);
  });

  it('build every function from functions/ with the targets plugin, which holds exactly the stage’s targets as data', async () => {
    // Prepare
    const builds = run.rpc.filter((r) => r.method === 'Runtime.Build');
    const plugins = new Set(
      builds.map((b) => (b.args.properties as { plugins?: string } | undefined)?.plugins),
    );

    // Assess: one plugin file for all, relative to the app's root (as SST resolves it), written
    expect(builds.length).toBe(run.ofType(LAMBDA).length);
    expect(builds.length).toBeGreaterThan(20);
    for (const b of builds)
      expect(String(b.args.handler)).toMatch(/^functions\/[a-z0-9-]+\/handler\.handler$/);
    // …each with code splitting, which SST gives esbuild (rare-path adapters load on first use)
    for (const b of builds)
      expect(
        (b.args.properties as { splitting?: boolean } | undefined)?.splitting,
        String(b.args.handler),
      ).toBe(true);
    expect(plugins.size).toBe(1);
    const [plugin] = [...plugins];
    expect(plugin).toMatch(/stepops\/plugins\.mjs$/);
    expect(path.isAbsolute(String(plugin))).toBe(false);
    const file = path.resolve(ROOT, String(plugin));
    expect(existsSync(file)).toBe(true);
    const written = (await import(pathToFileURL(file).href)) as { default: Plugin[] };
    expect(written.default.map((p) => p.name)).toEqual(['stepops-sdk-schema-keys', 'stepops-targets']);
    const contents = await loadedContents(written.default, 'bundled-targets.ts');
    const json = /JSON\.parse\(("(?:[^"\\]|\\.)*")\)/.exec(contents ?? '')?.[1];
    const data = JSON.parse(JSON.parse(json ?? '"[]"')) as { name: string; file: string; target: unknown }[];
    expect(data.map((t) => [t.name, t.file])).toEqual([['billing-api', path.join(dir, 'billing-api.ts')]]);
    expect(data[0]?.target).toMatchObject({
      name: 'billing-api',
      hosts: { type: 'ec2', region: 'eu-west-1', user: 'root', workingDirectory: '/opt/billing' },
    });
    expect(contents).not.toMatch(/\bimport\b/);
    expect(await loadedContents(written.default, 'target-validation.ts')).toContain(
      'export const targetValidation = undefined;',
    );
  });
});

// Refused before any resource is created: called with the globals the run above set (`$cli`, `$app`).
describe('a stage refuses', () => {
  it('a targets directory with a file named as no target may be, naming the file (from STEPOPS_TARGETS_DIR)', async () => {
    // Prepare
    const misnamed = path.join(root, 'misnamed');
    await writeTargets(misnamed, {
      'Billing.ts': "export default { name: 'billing' };\n",
    });
    const saved = process.env.STEPOPS_TARGETS_DIR;
    process.env.STEPOPS_TARGETS_DIR = misnamed;

    // Act
    const act = createStacks();

    // Assess
    try {
      await expect(act).rejects.toThrow(StageConfigError);
      await expect(act).rejects.toThrow(
        `${path.join(misnamed, 'Billing.ts')}: "Billing" is not a target name`,
      );
    } finally {
      if (saved === undefined) delete process.env.STEPOPS_TARGETS_DIR;
      else process.env.STEPOPS_TARGETS_DIR = saved;
    }
  });

  it('a target file that does not load, naming it', async () => {
    // Prepare
    const broken = path.join(root, 'broken');
    await writeTargets(broken, { 'billing-api.ts': "export default { name: 'billing-api',\n" });

    // Act
    const act = createStacks({ targetsDir: broken });

    // Assess
    await expect(act).rejects.toThrow(ConfigError);
    await expect(act).rejects.toThrow(`${path.join(broken, 'billing-api.ts')}: cannot load the file`);
  });

  it('a target that does not validate, naming the file and the path', async () => {
    // Prepare
    const invalid = path.join(root, 'invalid');
    await writeTargets(invalid, {
      'billing-api.ts': `export default {
  name: 'billing-api',
  description: 'the billing API of the app',
  hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'billing' }, workingDirectory: 'opt/billing' },
};
`,
    });

    // Act
    const act = createStacks({ targetsDir: invalid });

    // Assess
    await expect(act).rejects.toThrow(ConfigError);
    await expect(act).rejects.toThrow(`${path.join(invalid, 'billing-api.ts')}: hosts.workingDirectory:`);
  });

  it('a targets directory that does not exist', async () => {
    // Act
    const act = createStacks({ targetsDir: path.join(root, 'nope') });

    // Assess
    await expect(act).rejects.toThrow(TargetsDirectoryError);
    await expect(act).rejects.toThrow(`targets directory ${path.join(root, 'nope')}: no such directory`);
  });
});
