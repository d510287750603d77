/**
 * How the stacks build each Lambda: where stepops' handlers are (this repository's `functions/`,
 * or the installed package's when a user's `sst.config.ts` builds the stacks), and the esbuild
 * plugin that bundles the stage's target files, written from the targets directory before SST
 * bundles the functions.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TargetFile } from '../shared/config/discovery.ts';
import { writeTargetsPlugin } from '../shared/config/targets-bundle.ts';

/** Where the targets plugin is written, under SST's working directory (`.sst`). */
export const TARGETS_PLUGIN_FILE = path.join('stepops', 'targets-plugin.mjs');

/** What every function of the stacks is built with. */
export interface FunctionBundling {
  /** The folder of the handlers (`<name>/handler.ts`), relative to the app's root, with `/`. */
  functionsDir: string;
  /** The targets plugin file, relative to the app's root (SST's `nodejs.plugins`). */
  plugins: string;
}

/** A path relative to the app's root, with `/` (how SST takes handlers and plugin files). */
function fromRoot(root: string, file: string): string {
  return path.relative(root, path.resolve(root, file)).split(path.sep).join('/');
}

/**
 * The folder of stepops' handlers for an app: the installed `stepops` package's (`dist/functions`
 * when it ships one, else `functions`), or the app's own `functions/` when the app is stepops
 * itself (this repository).
 *
 * @example
 * stepopsFunctionsDir('/work/app') // '/work/app/node_modules/stepops/dist/functions'
 */
export function stepopsFunctionsDir(root: string): string {
  let packageDir: string | undefined;
  try {
    packageDir = path.dirname(createRequire(path.join(root, 'package.json')).resolve('stepops/package.json'));
  } catch {
    packageDir = undefined;
  }
  if (packageDir === undefined || path.resolve(packageDir) === path.resolve(root)) {
    return path.join(root, 'functions');
  }
  const compiled = path.join(packageDir, 'dist', 'functions');
  return existsSync(compiled) ? compiled : path.join(packageDir, 'functions');
}

/** What {@link prepareBundling} needs. */
export interface BundlingInput {
  /** The app's root (`$cli.paths.root`): SST resolves handlers and plugin files from it. */
  root: string;
  /** SST's working directory (`$cli.paths.work`), where the plugin file is written. */
  work: string;
  /** The target files the stage's Lambdas bundle. */
  targets: readonly TargetFile[];
  /** The folder of the handlers (default: {@link stepopsFunctionsDir}). */
  functionsDir?: string | undefined;
}

/**
 * Writes the targets plugin for the stage's target files and answers what each function is built
 * with.
 *
 * @example
 * const bundling = prepareBundling({ root: $cli.paths.root, work: $cli.paths.work, targets });
 * new sst.aws.Function('F', { ...functionCode(bundling, 'plan-deploy'), runtime: 'nodejs24.x' });
 */
export function prepareBundling(input: BundlingInput): FunctionBundling {
  const pluginFile = path.join(input.work, TARGETS_PLUGIN_FILE);
  writeTargetsPlugin(pluginFile, input.targets, input.root);
  return {
    functionsDir: fromRoot(input.root, input.functionsDir ?? stepopsFunctionsDir(input.root)),
    plugins: fromRoot(input.root, pluginFile),
  };
}

/**
 * The handler and bundling options of one function: `functions/<folder>/handler.handler`, built
 * with the targets plugin.
 *
 * @example
 * functionCode({ functionsDir: 'functions', plugins: '.sst/stepops/targets-plugin.mjs' }, 'plan-deploy')
 * // { handler: 'functions/plan-deploy/handler.handler', nodejs: { plugins: '.sst/stepops/targets-plugin.mjs' } }
 */
export function functionCode(
  bundling: FunctionBundling,
  folder: string,
): { handler: string; nodejs: { plugins: string } } {
  return {
    handler: `${bundling.functionsDir}/${folder}/handler.handler`,
    nodejs: { plugins: bundling.plugins },
  };
}
