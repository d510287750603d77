/**
 * Lambda size and start: each `functions/<name>/handler.ts` bundled as SST bundles a Node function
 * (esbuild, bundle, minify, ESM, platform node, target node24, AWS SDK included, mainFields
 * module,main, a createRequire banner, code splitting), what its cold start loads (the entry file and
 * its static chunks) and what it loads on first use (the chunks of dynamic imports), its heaviest
 * inputs, and the median time a fresh Node 24 process takes to import its entry file.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { listTargetFiles } from '../shared/config/discovery.ts';
import { loadTargetFile } from '../shared/config/load.ts';
import { writeLambdaPlugins } from '../stacks/bundling.ts';
import { median } from './stats.ts';

/**
 * What a function calls, read from its bundle: no AWS service, one (one `@aws-sdk/client-*`
 * package), or several.
 */
export type BundleKind = 'no-aws' | 'one-service' | 'several-services';

/** The goals of issue 13 by kind: bundle size (none set for several services) and cold import. */
export const BUNDLE_GOALS: Readonly<Record<BundleKind, { bytes?: number; coldImportMs: number }>> = {
  'no-aws': { bytes: 60 * 1024, coldImportMs: 40 },
  'one-service': { bytes: 400 * 1024, coldImportMs: 100 },
  'several-services': { coldImportMs: 100 },
};

/** The banner SST adds to ESM bundles so that bundled CommonJS can `require` Node built-ins. */
const ESM_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  'const require = topLevelCreateRequire(import.meta.url);',
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from 'url';`,
  'const __filename = topLevelFileUrlToPath(import.meta.url);',
  `const __dirname = topLevelFileUrlToPath(new topLevelURL('.', import.meta.url));`,
].join('\n');

/** esbuild's settings for a Lambda as SST bundles a Node function (the AWS SDK included). */
export const LAMBDA_BUILD_OPTIONS = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: { js: ESM_BANNER },
  // SST's `nodejs.splitting` (stacks/bundling.ts): a dynamically imported module becomes a chunk of
  // its own, loaded on first use, and every chunk is plain ESM that esbuild tree-shakes (without
  // splitting it wraps such modules in lazy-init functions, where the SDK schema plugin no longer
  // lets it drop the unused shapes). esbuild then needs `outdir`; SST names the files `.mjs`.
  splitting: true,
  outExtension: { '.js': '.mjs' },
} as const satisfies BuildOptions;

/** The output files of a Lambda built with code splitting, by when they load. */
export interface LambdaLoad {
  /** The entry file and the chunks it imports statically, transitively: what a cold start loads. */
  eager: string[];
  /** The chunks only a dynamic `import()` reaches: loaded on first use, not at cold start. */
  lazy: string[];
}

/**
 * Which outputs of a split build load at cold start from `entry` (the entry file and, transitively,
 * the chunks it imports with `import` statements) and which only through a dynamic `import()`.
 *
 * @example
 * lambdaLoad(built.metafile, 'out/check-health/index.mjs') // { eager: ['out/check-health/index.mjs', 'out/check-health/chunk-X.mjs'], lazy: [...] }
 * @throws Error when `entry` is not an output of the metafile
 */
export function lambdaLoad(metafile: Metafile, entry: string): LambdaLoad {
  if (!metafile.outputs[entry]) throw new Error(`${entry} is not an output of the build`);
  const reach = (from: string[], kinds: ReadonlySet<string>): Set<string> => {
    const seen = new Set(from);
    const queue = [...from];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      for (const imported of metafile.outputs[file]?.imports ?? []) {
        if (!kinds.has(imported.kind) || !metafile.outputs[imported.path] || seen.has(imported.path))
          continue;
        seen.add(imported.path);
        queue.push(imported.path);
      }
    }
    return seen;
  };
  const eager = reach([entry], new Set(['import-statement']));
  const all = reach([entry], new Set(['import-statement', 'dynamic-import']));
  return { eager: [...eager], lazy: [...all].filter((file) => !eager.has(file)) };
}

/**
 * The part of a metafile that is some of its outputs (its inputs kept whole).
 *
 * @example
 * const atColdStart = metafileOf(built.metafile, lambdaLoad(built.metafile, entry).eager);
 */
export function metafileOf(metafile: Metafile, files: readonly string[]): Metafile {
  return {
    inputs: metafile.inputs,
    outputs: Object.fromEntries(
      files.flatMap((f) => (metafile.outputs[f] ? [[f, metafile.outputs[f]]] : [])),
    ),
  };
}

/** Bytes of the outputs of a metafile. */
export function outputBytes(metafile: Metafile): number {
  return Object.values(metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
}

/** One Lambda bundled as the stack bundles it, split by when its files load. */
export interface BuiltLambda {
  /** The entry file (absolute): what the Lambda runtime imports. */
  entryFile: string;
  /** Bytes a cold start loads: the entry and its static chunks. */
  bytes: number;
  /** Bytes of the chunks loaded only on first use (dynamic imports). */
  lazyBytes: number;
  /** The metafile of what a cold start loads. */
  metafile: Metafile;
  /** The metafile of the chunks loaded on first use. */
  lazyMetafile: Metafile;
}

/**
 * Bundles one entry with {@link LAMBDA_BUILD_OPTIONS} into `outdir` (`index.mjs` and its chunks),
 * from a file (`entry`, relative to `root`) or a source (`stdin`), and splits the outputs into
 * what a cold start loads and what loads later.
 *
 * @example
 * const built = await buildLambda({ root, plugins, entry: 'functions/notify/handler.ts', outdir: '/tmp/b/notify' });
 * built.bytes // 452000; built.lazyBytes // 96000
 */
export async function buildLambda(options: {
  root: string;
  plugins: Plugin[];
  entry?: string;
  stdin?: string;
  outdir: string;
  write?: boolean;
  external?: string[];
}): Promise<BuiltLambda> {
  const built = await build({
    ...LAMBDA_BUILD_OPTIONS,
    plugins: options.plugins,
    absWorkingDir: options.root,
    ...(options.stdin !== undefined
      ? { stdin: { contents: options.stdin, loader: 'ts', resolveDir: options.root, sourcefile: 'index.ts' } }
      : { entryPoints: [{ in: options.entry ?? '', out: 'index' }] }),
    outdir: options.outdir,
    metafile: true,
    write: options.write ?? true,
    logLevel: 'silent',
    external: options.external ?? [],
  });
  const entryName = options.stdin !== undefined ? 'stdin.mjs' : 'index.mjs';
  const entryFile = path.join(options.outdir, entryName);
  const load = lambdaLoad(built.metafile, path.relative(options.root, entryFile).split(path.sep).join('/'));
  const metafile = metafileOf(built.metafile, load.eager);
  const lazyMetafile = metafileOf(built.metafile, load.lazy);
  return {
    entryFile,
    bytes: outputBytes(metafile),
    lazyBytes: outputBytes(lazyMetafile),
    metafile,
    lazyMetafile,
  };
}

/**
 * The AWS services a bundle calls: the `@aws-sdk/client-*` packages with code in its output
 * (the credential providers' nested clients are not a service the function calls).
 *
 * @example
 * awsServices(built.metafile) // ['ssm']
 */
export function awsServices(metafile: Metafile): string[] {
  const services = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = packageOf(input);
      if (bytesInOutput > 0 && pkg.startsWith('@aws-sdk/client-'))
        services.add(pkg.slice('@aws-sdk/client-'.length));
    }
  }
  return [...services].sort();
}

/**
 * The kind of a bundle from the services it calls.
 *
 * @example
 * bundleKind(['ssm']) // 'one-service'
 */
export function bundleKind(services: readonly string[]): BundleKind {
  if (services.length === 0) return 'no-aws';
  return services.length === 1 ? 'one-service' : 'several-services';
}

/** The module of the target model (on zod/mini): in a bundle built without the targets plugin. */
export const TARGET_MODEL = 'shared/config/schema.ts';

/** The module the targets plugin fills with the validated targets as data: in a bundle that reads a target. */
export const TARGET_DATA = 'shared/config/bundled-targets.ts';

/**
 * Whether a bundle reads a target: it holds the targets as data (built with the targets plugin)
 * or the target model (built without it).
 *
 * @example
 * readsTarget(built.metafile) // true for plan-deploy
 */
export function readsTarget(metafile: Metafile): boolean {
  return Object.values(metafile.outputs).some(
    (o) =>
      (o.inputs[TARGET_DATA]?.bytesInOutput ?? 0) > 0 || (o.inputs[TARGET_MODEL]?.bytesInOutput ?? 0) > 0,
  );
}

/** What validating targets takes in a bundle: the model and its loader, and the target files. */
const TARGET_MODEL_INPUTS = new Set([TARGET_MODEL, 'shared/config/load.ts', 'shared/config/schedule.ts']);
/** zod's English messages, which the zod/mini modules configure. */
const ZOD_MESSAGES = 'node_modules/zod/v4/locales/en.js';

/** Bytes a bundle gives to its parts that the goals missed turn on (see {@link BundleParts}). */
export function bundleParts(metafile: Metafile): BundleParts {
  const parts: BundleParts = { targetModel: 0, targets: 0, targetData: 0, zod: 0, zodMessages: 0 };
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (TARGET_MODEL_INPUTS.has(input)) parts.targetModel += bytesInOutput;
      else if (/^(targets|lab)\//.test(input)) parts.targets += bytesInOutput;
      else if (input === TARGET_DATA) parts.targetData = (parts.targetData ?? 0) + bytesInOutput;
      if (packageOf(input) === 'zod') parts.zod += bytesInOutput;
      if (input.endsWith(ZOD_MESSAGES)) parts.zodMessages += bytesInOutput;
    }
  }
  return parts;
}

/**
 * The esbuild plugins the stacks give SST for every function (stacks/bundling.ts): the targets
 * plugin, written for a targets directory (the repository's `targets/` by default), and the SDK
 * schema plugin, imported as SST imports them, so that each bundle is built as a deployed Lambda's.
 *
 * @example
 * await build({ ...LAMBDA_BUILD_OPTIONS, plugins: await targetsPlugins(root), entryPoints });
 * @throws ConfigError when a target file does not load or is invalid
 */
export async function targetsPlugins(
  root: string,
  targetsDir = path.join(root, 'targets'),
): Promise<Plugin[]> {
  const files = [];
  for (const file of listTargetFiles(targetsDir).files) {
    if ((await loadTargetFile(file.file)).target.hosts.type === 'ec2') files.push(file);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'stepops-bench-plugins-'));
  const file = await writeLambdaPlugins(dir, files, root);
  return ((await import(pathToFileURL(file).href)) as { default: Plugin[] }).default;
}

/**
 * Bundles functions in memory as the stack does, each in its own esbuild run as SST builds it (its
 * chunks its own); returns what each loads at cold start and on first use.
 *
 * @example
 * const built = await buildFunctions(root, ['plan-deploy', 'poll-command']);
 * built.get('plan-deploy')?.bytes // 198000
 */
export async function buildFunctions(
  root: string,
  names: readonly string[],
): Promise<Map<string, BuiltLambda>> {
  const plugins = await targetsPlugins(root);
  const built = await Promise.all(
    names.map((name) =>
      buildLambda({
        root,
        plugins,
        entry: path.join('functions', name, 'handler.ts'),
        outdir: path.join(root, 'out', name),
        write: false,
      }),
    ),
  );
  return new Map(names.map((name, i) => [name, built[i]!]));
}

/** One input's share of a bundle, grouped by package (or `(project) <dir>` for our own code). */
export interface HeavyInput {
  name: string;
  bytes: number;
}

/** Bytes of a bundle's parts that decide whether it meets its size goal. */
export interface BundleParts {
  /** The target model with its loader (`shared/config/schema.ts`, `load.ts`, `schedule.ts`). */
  targetModel: number;
  /** The target files (`targets/`, and the `lab/` helpers the demo target uses). */
  targets: number;
  /** The validated targets as JSON data (`bundled-targets.ts` as the targets plugin fills it). */
  targetData?: number;
  /** zod (zod/mini and its core), its English messages included. */
  zod: number;
  zodMessages: number;
}

export interface BundleResult {
  name: string;
  bytes: number;
  /** Bytes of the chunks loaded only on first use (dynamic imports): not part of `bytes`. */
  lazyBytes?: number;
  /**
   * The AWS services it calls at cold start (client packages in the entry and its static chunks),
   * and the kind that gives.
   */
  services?: string[];
  /** The AWS services only its lazily loaded chunks hold (called on a rarer path). */
  lazyServices?: string[];
  kind?: BundleKind;
  /** Whether its function reads a target (its bundle holds the targets as data, or the model). */
  targetModel?: boolean;
  parts?: BundleParts;
  /** Median of the cold import times in ms. */
  coldImportMs: number | null;
  /** Fastest of the cold import times: the least disturbed by other work on the machine. */
  coldImportMinMs?: number;
  coldImportSamplesMs: number[];
  /** Set when the bundle failed to build or to import. */
  error?: string;
  topInputs: HeavyInput[];
  /**
   * The same function with `@aws-sdk/*` and `@smithy/*` left external, as if it used the SDK the
   * `nodejs24.x` runtime provides: size, and cold import with the SDK loaded from node_modules.
   */
  sdkExternal?: { bytes: number; coldImportMs: number | null; error?: string };
}

/** Groups a metafile input path by the package it belongs to. */
export function packageOf(input: string): string {
  const index = input.lastIndexOf('node_modules/');
  if (index < 0) {
    const dir = path.dirname(input);
    return `(project) ${dir === '.' ? input : dir}`;
  }
  const rest = input.slice(index + 'node_modules/'.length).split('/');
  return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? input);
}

/**
 * The heaviest packages in a bundle, by bytes they contribute to the output.
 *
 * @example
 * topInputs(result.metafile, 5) // [{ name: '@aws-sdk/client-ssm', bytes: 120345 }, …]
 */
export function topInputs(metafile: Metafile, count: number): HeavyInput[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input);
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count);
}

/** Names of the functions: the directories of `functionsDir` that hold a `handler.ts`. */
export async function listFunctions(functionsDir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(functionsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    try {
      await stat(path.join(functionsDir, entry.name, 'handler.ts'));
      names.push(entry.name);
    } catch {
      // not a function directory
    }
  }
  return names.sort();
}

/** Environment a Lambda module sees at import time in AWS (no credentials: nothing is called). */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  POWERTOOLS_SERVICE_NAME: 'stepops',
  POWERTOOLS_LOG_LEVEL: 'WARN',
  NODE_ENV: 'production',
  SST_RESOURCE_App: JSON.stringify({ name: 'stepops', stage: 'bench' }),
};

const CHILD_SCRIPT = [
  'const file = process.argv[1];',
  'const t0 = performance.now();',
  'await import(file);',
  'const ms = performance.now() - t0;',
  'process.stdout.write(JSON.stringify({ ms }));',
  'process.exit(0);',
].join('\n');

/**
 * Imports a module in a fresh Node process and returns the time `await import()` took inside it.
 *
 * @example
 * const ms = await coldImport('node_modules/.bin/node', '/tmp/bundle/plan-deploy.mjs');
 */
export function coldImport(nodeBinary: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      nodeBinary,
      ['--input-type=module', '-e', CHILD_SCRIPT, new URL(`file://${file}`).href],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...LAMBDA_ENV },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve((JSON.parse(out) as { ms: number }).ms);
      } catch {
        reject(
          new Error(
            `import of ${path.basename(file)} failed: ${err.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
      }
    });
  });
}

/** Bundles with the SDK external must resolve it, so they live inside the repository's tree. */
export function sdkExternalDir(root: string): string {
  return path.join(root, 'node_modules', '.cache', 'stepops-bench-sdk-external');
}

export interface BundleOptions {
  /** Repository root. */
  root: string;
  /** Where bundles are written (wiped first). */
  outDir: string;
  nodeBinary: string;
  /** Cold-import processes per function. */
  samples: number;
  /** Inputs listed per bundle. */
  top: number;
  log?: (line: string) => void;
}

/**
 * Bundles every function, measures its size and its cold import time.
 *
 * @example
 * const results = await benchBundles({ root, outDir: '/tmp/stepops-bundles', nodeBinary, samples: 5, top: 5 });
 */
export async function benchBundles(options: BundleOptions): Promise<BundleResult[]> {
  const names = await listFunctions(path.join(options.root, 'functions'));
  const externalDir = sdkExternalDir(options.root);
  for (const dir of [options.outDir, externalDir]) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  }
  const plugins = await targetsPlugins(options.root);
  const bundle = (name: string, outdir: string, external: string[]) =>
    buildLambda({
      root: options.root,
      plugins,
      entry: path.join('functions', name, 'handler.ts'),
      outdir,
      external,
    });
  const sample = async (file: string): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < options.samples; i += 1) samples.push(await coldImport(options.nodeBinary, file));
    return samples;
  };
  const results: BundleResult[] = [];
  for (const name of names) {
    let result: BundleResult = { name, bytes: 0, coldImportMs: null, coldImportSamplesMs: [], topInputs: [] };
    try {
      // SST bundles everything by default, the AWS SDK included; a cold start loads the entry and
      // its static chunks, the chunks of dynamic imports load on first use.
      const built = await bundle(name, path.join(options.outDir, name), []);
      result.bytes = built.bytes;
      result.lazyBytes = built.lazyBytes;
      result.topInputs = topInputs(built.metafile, options.top);
      result.services = awsServices(built.metafile);
      const eager = new Set(result.services);
      result.lazyServices = awsServices(built.lazyMetafile).filter((s) => !eager.has(s));
      result.kind = bundleKind(result.services);
      result.targetModel = readsTarget(built.metafile);
      result.parts = bundleParts(built.metafile);
      // The entry file: its static chunks load with it.
      result.coldImportSamplesMs = await sample(built.entryFile);
      result.coldImportMs = median(result.coldImportSamplesMs);
      result.coldImportMinMs = Math.min(...result.coldImportSamplesMs);
    } catch (error) {
      result = { ...result, error: error instanceof Error ? error.message : String(error) };
    }
    try {
      const external = await bundle(name, path.join(externalDir, name), ['@aws-sdk/*', '@smithy/*']);
      result.sdkExternal = { bytes: external.bytes, coldImportMs: null };
    } catch (error) {
      result.sdkExternal = {
        bytes: 0,
        coldImportMs: null,
        error: error instanceof Error ? error.message : String(error),
      };
    }
    options.log?.(
      `  ${name}: ${(result.bytes / 1024).toFixed(1)} KB${result.lazyBytes ? ` (+ ${(result.lazyBytes / 1024).toFixed(1)} KB lazy${result.lazyServices?.length ? `: ${result.lazyServices.join(', ')}` : ''})` : ''}, cold import ${result.coldImportMs?.toFixed(1) ?? '—'} ms${result.error ? ` (${result.error})` : ''}; SDK external: ${((result.sdkExternal?.bytes ?? 0) / 1024).toFixed(1)} KB`,
    );
    results.push(result);
  }
  // Cold import with the SDK external, for the largest bundle only (time budget): does leaving the
  // SDK to the runtime make the start faster, or only the bundle smaller?
  const largest = [...results]
    .filter((r) => r.sdkExternal && !r.sdkExternal.error)
    .sort((a, b) => b.bytes - a.bytes)[0];
  if (largest?.sdkExternal) {
    try {
      largest.sdkExternal.coldImportMs = median(
        await sample(path.join(externalDir, largest.name, 'index.mjs')),
      );
      options.log?.(
        `  ${largest.name} with the SDK external: cold import ${largest.sdkExternal.coldImportMs.toFixed(1)} ms`,
      );
    } catch (error) {
      largest.sdkExternal.error = error instanceof Error ? error.message : String(error);
    }
  }
  return results;
}

/** A way of importing a library, bundled alone: what it adds to a bundle. */
export interface ImportVariant {
  /** Stable key, used by the notes on missed goals. */
  id: string;
  label: string;
  source: string;
  bytes: number;
  /** Median cold import of the variant alone, for the variants that are timed. */
  coldImportMs?: number;
}

/**
 * Bundles small entry points that differ only in how they import a library, to show what an
 * import style costs (e.g. `import { z } from 'zod'` against `zod/mini`).
 *
 * @example
 * await measureImportVariants(root, [{ id: 'zod', label: 'zod namespace', source: "import { z } from 'zod'; export const s = z.string();" }]);
 */
export async function measureImportVariants(
  root: string,
  variants: readonly { id: string; label: string; source: string; timed?: boolean }[],
  timing?: { nodeBinary: string; outDir: string; samples: number },
): Promise<ImportVariant[]> {
  const out: ImportVariant[] = [];
  const plugins = await targetsPlugins(root);
  for (const variant of variants) {
    const built = await buildLambda({
      root,
      plugins,
      stdin: variant.source,
      outdir: path.join(timing?.outDir ?? path.join(root, 'out'), 'variants', variant.id),
      write: timing !== undefined,
    });
    const bytes = built.bytes;
    const result: ImportVariant = { id: variant.id, label: variant.label, source: variant.source, bytes };
    if (timing && variant.timed) {
      const samples: number[] = [];
      for (let i = 0; i < timing.samples; i += 1)
        samples.push(await coldImport(timing.nodeBinary, built.entryFile));
      result.coldImportMs = median(samples);
    }
    out.push(result);
  }
  return out;
}

/**
 * The baselines each function's cold import is read against, measured in the same run: a minimal
 * middy + logger handler (for the functions that make no AWS call), and the same with one SDK
 * client at module scope (for those that call AWS).
 */
export const BASELINES: readonly { id: string; label: string; source: string; timed: true }[] = [
  {
    id: 'baseline-logger',
    label: 'baseline: a minimal middy + Powertools logger handler',
    timed: true,
    source: [
      "import middy from '@middy/core';",
      "import { Logger } from '@aws-lambda-powertools/logger';",
      "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
      'const logger = new Logger();',
      'export const handler = middy().use(injectLambdaContext(logger)).handler(async (e: unknown) => e);',
    ].join('\n'),
  },
  {
    id: 'baseline-one-client',
    label: 'baseline: the same with one SDK client (SSM) at module scope',
    timed: true,
    source: [
      "import middy from '@middy/core';",
      "import { Logger } from '@aws-lambda-powertools/logger';",
      "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
      "import { GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';",
      'const logger = new Logger();',
      'const ssm = new SSMClient({});',
      'export const handler = middy().use(injectLambdaContext(logger)).handler(async (e: { c: string; i: string }) => ssm.send(new GetCommandInvocationCommand({ CommandId: e.c, InstanceId: e.i })));',
    ].join('\n'),
  },
];

/**
 * The baseline a function's cold import is read against: middy + logger for a function without
 * AWS calls, the same with one client otherwise.
 *
 * @example
 * baselineFor('no-aws') // 'baseline-logger'
 */
export function baselineFor(kind: BundleKind | undefined): string {
  return kind === 'no-aws' ? 'baseline-logger' : 'baseline-one-client';
}

/** The import styles measured beside the bundles: the libraries that dominate them. */
export const IMPORT_VARIANTS: readonly { id: string; label: string; source: string; timed?: boolean }[] = [
  {
    id: 'zod-z-object',
    label: "zod: import { z } from 'zod' (the z object: the whole library, locales included)",
    source:
      "import { z } from 'zod'; export const s = z.object({ a: z.string().regex(/x/), b: z.number().int() });",
  },
  {
    id: 'zod-namespace',
    label:
      "zod: import * as z from 'zod' (module namespace, tree-shaken; what the target model was written with)",
    source:
      "import * as z from 'zod'; export const s = z.object({ a: z.string().regex(/x/), b: z.number().int() });",
  },
  {
    id: 'zod-mini',
    label: "zod: import * as z from 'zod/mini'",
    source:
      "import * as z from 'zod/mini'; export const s = z.object({ a: z.string().check(z.regex(/x/)), b: z.int() });",
  },
  {
    id: 'ssm',
    label: '@aws-sdk/client-ssm: one client, one command',
    timed: true,
    source:
      "import { SSMClient, SendCommandCommand } from '@aws-sdk/client-ssm'; export const c = new SSMClient({}); export const x = SendCommandCommand;",
  },
  {
    id: 'ec2',
    label: '@aws-sdk/client-ec2: one client, one command',
    timed: true,
    source:
      "import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2'; export const c = new EC2Client({}); export const x = DescribeInstancesCommand;",
  },
  {
    id: 'dynamodb',
    label: '@aws-sdk/client-dynamodb: one client, one command',
    source:
      "import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'; export const c = new DynamoDBClient({}); export const x = PutItemCommand;",
  },
  {
    id: 'target-registry',
    label:
      'shared/config/registry.ts: findTarget (the targets as validated data, what reading a target bundles)',
    timed: true,
    source: "import { findTarget } from './shared/config/registry.ts'; export const f = findTarget;",
  },
  {
    id: 'drivers',
    label: 'shared/all-drivers.ts: driversFor (every adapter, AWS and local)',
    source: "import { driversFor } from './shared/all-drivers.ts'; export const d = driversFor;",
  },
  {
    id: 'powertools-sns-envelope',
    label: "Powertools parser's SnsEnvelope and JSONStringified (they import { z } from 'zod')",
    source:
      "import { SnsEnvelope } from '@aws-lambda-powertools/parser/envelopes/sns'; import { JSONStringified } from '@aws-lambda-powertools/parser/helpers'; export const e = [SnsEnvelope, JSONStringified];",
  },
  {
    id: 'parser',
    label: '@aws-lambda-powertools/parser/middleware (without a schema)',
    source: "import { parser } from '@aws-lambda-powertools/parser/middleware'; export const p = parser;",
  },
  {
    id: 'fixed-no-sdk',
    label:
      'after the fixes, a Lambda without AWS calls (plan-rollback-like): middy, logger, parser middleware, a zod/mini schema',
    timed: true,
    source: [
      "import middy from '@middy/core';",
      "import { Logger } from '@aws-lambda-powertools/logger';",
      "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
      "import { parser } from '@aws-lambda-powertools/parser/middleware';",
      "import * as z from 'zod/mini';",
      'const logger = new Logger();',
      'const schema = z.object({ target: z.string().check(z.regex(/^[a-z]+$/)), hosts: z.array(z.object({ id: z.string() })) });',
      'export const handler = middy().use(injectLambdaContext(logger)).use(parser({ schema: schema as never })).handler(async (e: unknown) => e);',
    ].join('\n'),
  },
  {
    id: 'fixed-ssm',
    label:
      'after the fixes, a Lambda calling SSM (poll-command-like): the same plus one SSM client at module scope',
    timed: true,
    source: [
      "import middy from '@middy/core';",
      "import { Logger } from '@aws-lambda-powertools/logger';",
      "import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';",
      "import { parser } from '@aws-lambda-powertools/parser/middleware';",
      "import { GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';",
      "import * as z from 'zod/mini';",
      'const logger = new Logger();',
      'const ssm = new SSMClient({});',
      'const schema = z.object({ commandId: z.string(), instanceId: z.string() });',
      'export const handler = middy().use(injectLambdaContext(logger)).use(parser({ schema: schema as never })).handler(async (e: { commandId: string; instanceId: string }) => ssm.send(new GetCommandInvocationCommand({ CommandId: e.commandId, InstanceId: e.instanceId })));',
    ].join('\n'),
  },
  {
    id: 'middy-logger',
    label: '@middy/core + Powertools logger',
    source:
      "import middy from '@middy/core'; import { Logger } from '@aws-lambda-powertools/logger'; export const l = new Logger(); export const m = middy;",
  },
];
