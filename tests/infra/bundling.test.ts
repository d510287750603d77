/**
 * Where the stacks take stepops' handlers from (this repository's functions/, or the package a
 * user's app installed) and the plugin file every function is built with.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config/load.ts';
import { functionCode, prepareBundling, stepopsFunctionsDir } from '../../stacks/bundling.ts';
import { ROOT } from './harness.ts';

let app: string;

beforeAll(async () => {
  app = await mkdtemp(path.join(tmpdir(), 'stepops-user-app-'));
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'user-app', private: true }));
});
afterAll(async () => {
  await rm(app, { recursive: true, force: true });
});

describe('stepopsFunctionsDir', () => {
  it("is this repository's functions/ when the app is stepops itself", () => {
    expect(stepopsFunctionsDir(ROOT)).toBe(path.join(ROOT, 'functions'));
  });

  it("is the installed package's dist/functions when it ships one, else its functions/", async () => {
    // Prepare
    const pkg = path.join(app, 'node_modules', 'stepops');
    await mkdir(pkg, { recursive: true });
    await writeFile(path.join(pkg, 'package.json'), JSON.stringify({ name: 'stepops', version: '1.0.0' }));

    // Act & Assess
    expect(stepopsFunctionsDir(app)).toBe(path.join(pkg, 'functions'));
    await mkdir(path.join(pkg, 'dist', 'functions'), { recursive: true });
    expect(stepopsFunctionsDir(app)).toBe(path.join(pkg, 'dist', 'functions'));
  });
});

describe('prepareBundling', () => {
  it('writes the plugin file under SST’s working directory and answers paths relative to the app', async () => {
    // Prepare
    const work = path.join(app, '.sst');
    await mkdir(path.join(app, 'stepops', 'targets'), { recursive: true });
    const target = path.join(app, 'stepops', 'targets', 'web.ts');
    await writeFile(
      target,
      "export default { name: 'web', description: 'the web app', hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'web' }, workingDirectory: '/opt/web' } };\n",
    );

    // Act
    const bundling = await prepareBundling({ root: app, work, targets: [{ name: 'web', file: target }] });

    // Assess
    expect(bundling).toEqual({
      functionsDir: 'node_modules/stepops/dist/functions',
      plugins: '.sst/stepops/plugins.mjs',
    });
    for (const file of ['plugins.mjs', 'targets-plugin.mjs', 'sdk-plugin.mjs'])
      expect(existsSync(path.join(work, 'stepops', file)), file).toBe(true);
    expect(functionCode(bundling, 'plan-deploy')).toEqual({
      handler: 'node_modules/stepops/dist/functions/plan-deploy/handler.handler',
      // code splitting: the chunks of dynamic imports (rare-path adapters) load on first use
      nodejs: { plugins: '.sst/stepops/plugins.mjs', splitting: true },
    });
  });

  it('takes the functions folder it is given', async () => {
    // Act
    const bundling = await prepareBundling({
      root: app,
      work: path.join(app, '.sst'),
      targets: [],
      functionsDir: path.join(app, 'vendor', 'stepops', 'functions'),
    });

    // Assess
    expect(functionCode(bundling, 'notify').handler).toBe('vendor/stepops/functions/notify/handler.handler');
  });

  it('refuses a target that does not validate, naming the file and the path, and writes nothing', async () => {
    // Prepare
    const work = path.join(app, '.sst-invalid');
    const dir = path.join(app, 'invalid-targets');
    await mkdir(dir, { recursive: true });
    const target = path.join(dir, 'api.ts');
    await writeFile(
      target,
      "export default { name: 'api', description: 'the API', hosts: { type: 'ec2', region: 'eu-west-1', tags: { App: 'api' }, workingDirectory: 'opt/api' } };\n",
    );

    // Act
    const act = prepareBundling({ root: app, work, targets: [{ name: 'api', file: target }] });

    // Assess
    await expect(act).rejects.toThrow(ConfigError);
    await expect(act).rejects.toThrow(
      `${target}: hosts.workingDirectory: expected an absolute path of plain characters (e.g. "/opt/app"), got "opt/api"`,
    );
    expect(existsSync(path.join(work, 'stepops'))).toBe(false);
  });
});
