/**
 * The SDK schema plugin: bundles built with it are much smaller, and the SDK they hold still
 * writes the same requests and reads the same responses (a bundle run with a request handler that
 * records the request and answers a canned EC2 response, with the plugin and without).
 */

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambda } from '../../../bench/bundles.ts';
import { SDK_SCHEMA_MODULE, sdkSchemasPluginSource } from '../../../shared/drivers/aws/sdk-bundling.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const EC2_SCHEMA = '/@aws-sdk/client-ec2/dist-es/schemas/schemas_0.js';

/** An entry that sends DescribeInstances through a handler that records it and answers `xml`. */
const ENTRY = `
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Readable } from 'node:stream';
const xml = '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><reservationSet><item><reservationId>r-0a</reservationId><instancesSet><item><instanceId>i-0abc</instanceId><privateIpAddress>10.0.0.5</privateIpAddress><instanceState><code>16</code><name>running</name></instanceState><tagSet><item><key>stepops:target</key><value>shop</value></item></tagSet></item></instancesSet></item></reservationSet></DescribeInstancesResponse>';
export async function run() {
  let sent;
  const client = new EC2Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async (request) => {
        sent = { method: request.method, path: request.path, body: request.body };
        return { response: { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([xml]) } };
      },
    },
  });
  const out = await client.send(new DescribeInstancesCommand({
    Filters: [{ Name: 'tag:stepops:target', Values: ['shop'] }, { Name: 'instance-state-name', Values: ['running'] }],
    MaxResults: 50,
  }));
  return { sent, reservations: out.Reservations };
}
`;

let dir: string;
let plugins: Plugin[];

async function bundle(name: string, withPlugin: boolean): Promise<{ bytes: number; file: string }> {
  const built = await buildLambda({
    root: ROOT,
    plugins: withPlugin ? plugins : [],
    stdin: ENTRY,
    outdir: path.join(dir, name),
  });
  return { bytes: built.bytes, file: built.entryFile };
}

beforeAll(async () => {
  // Prepare: the plugin file as the stacks write it, imported as SST imports it
  dir = await mkdtemp(path.join(os.tmpdir(), 'sdk-plugin-'));
  const pluginFile = path.join(dir, 'sdk-plugin.mjs');
  await writeFile(pluginFile, sdkSchemasPluginSource());
  plugins = ((await import(pathToFileURL(pluginFile).href)) as { default: Plugin[] }).default;
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the SDK schema plugin', () => {
  it('matches the schema modules of clients and nested clients, and nothing else', () => {
    const nm = '/app/node_modules/@aws-sdk';
    expect(SDK_SCHEMA_MODULE.test(`${nm}/client-ec2/dist-es/schemas/schemas_0.js`)).toBe(true);
    expect(SDK_SCHEMA_MODULE.test(`${nm}/nested-clients/dist-es/submodules/sts/schemas/schemas_0.js`)).toBe(
      true,
    );
    expect(SDK_SCHEMA_MODULE.test(`${nm}/client-ec2/dist-cjs/schemas/schemas_0.js`)).toBe(false);
    expect(SDK_SCHEMA_MODULE.test(`${nm}/client-ec2/dist-es/commands/DescribeInstancesCommand.js`)).toBe(
      false,
    );
    expect(SDK_SCHEMA_MODULE.test('/app/shared/schemas/schemas_0.js')).toBe(false);
  });

  it('bundles EC2 with one command in well under half the bytes, and the SDK behaves the same', async () => {
    // Act
    const plain = await bundle('plain', false);
    const cut = await bundle('cut', true);
    const before = await (await import(pathToFileURL(plain.file).href)).run();
    const after = await (await import(pathToFileURL(cut.file).href)).run();
    // Assess: the bytes (539 KB of EC2 shapes dropped), then the same request and parsed response
    expect(cut.bytes).toBeLessThan(plain.bytes - 400 * 1024);
    expect(after).toEqual(before);
    expect(after.sent.body).toContain('Action=DescribeInstances');
    expect(after.sent.body).toContain('Filter.1.Name=tag%3Astepops%3Atarget');
    expect(after.sent.body).toContain('MaxResults=50');
    expect(after.reservations[0].Instances[0]).toMatchObject({
      InstanceId: 'i-0abc',
      PrivateIpAddress: '10.0.0.5',
      State: { Code: 16, Name: 'running' },
      Tags: [{ Key: 'stepops:target', Value: 'shop' }],
    });
  }, 120_000);

  it('trims a client that a dynamic import loads, in its own chunk, and the chunk loads and resolves credentials', async () => {
    // Prepare: the EC2 status probe's module, imported on first use as the health gate imports it
    const entry = `export async function run() {
  const { DescribeInstanceStatusCommand, ec2Client } = await import('./shared/drivers/aws/ec2-status-api.ts');
  const client = ec2Client('eu-west-1');
  const credentials = await client.config.credentials();
  return { input: new DescribeInstanceStatusCommand({ InstanceIds: ['i-0abc'] }).input, key: credentials.accessKeyId };
}
console.log(JSON.stringify(await run()));`;

    // Act
    const built = await buildLambda({ root: ROOT, plugins, stdin: entry, outdir: path.join(dir, 'lazy') });
    const run = spawnSync(NODE, [built.entryFile], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: 'AKIDLAZY', AWS_SECRET_ACCESS_KEY: 'secret' },
    });

    // Assess: nothing of EC2 at cold start, its shapes trimmed in the chunk loaded on first use…
    const schemaBytes = (m: Metafile) =>
      Object.values(m.outputs)
        .flatMap((o) => Object.entries(o.inputs))
        .filter(([input]) => input.endsWith(EC2_SCHEMA))
        .reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0);
    expect(schemaBytes(built.metafile)).toBe(0);
    expect(schemaBytes(built.lazyMetafile)).toBeGreaterThan(0);
    expect(schemaBytes(built.lazyMetafile)).toBeLessThan(30 * 1024);
    // …and the chunks load: the command, and the credentials through the SDK's own dynamic imports
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ input: { InstanceIds: ['i-0abc'] }, key: 'AKIDLAZY' });
  }, 120_000);

  it('leaves a computed key alone when no string constant of the module names it', async () => {
    // Prepare: a module shaped like a schema module, at a path the plugin rewrites
    const pkg = path.join(dir, 'node_modules', '@aws-sdk', 'client-fake', 'dist-es', 'schemas');
    await import('node:fs/promises').then((fs) => fs.mkdir(pkg, { recursive: true }));
    await writeFile(
      path.join(pkg, 'schemas_0.js'),
      'const _xN = "xmlName";\nlet _dyn = "other";\nexport const a = { [_xN]: 1, [_dyn]: 2 };\n',
    );
    // Act
    const out = await build({
      stdin: {
        contents: `export { a } from ${JSON.stringify(path.join(pkg, 'schemas_0.js'))};`,
        resolveDir: dir,
      },
      bundle: true,
      format: 'esm',
      write: false,
      plugins,
      logLevel: 'silent',
    });
    // Assess
    const text = out.outputFiles[0]!.text;
    expect(text).toContain('["xmlName"]: 1');
    expect(text).not.toContain('[_xN]');
    expect(text).toContain('[_dyn]: 2');
  });
});
