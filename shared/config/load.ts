/**
 * Loading and validating target files, with every problem reported at once as
 * `file: path.inside: message`.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import type * as z from 'zod/mini';
import { listTargetFiles, type TargetFileIssue, targetsDirectory } from './discovery.ts';
import { type Target, type TargetInput, targetSchema, UNFILLED_MISMATCH } from './schema.ts';

export { refuseUnfilledDeploy, UnfilledValuesError } from './target-values.ts';

/**
 * The stepops package: the directory of its `package.json` (this repository, or
 * `node_modules/stepops` where it is installed; the compiled code is in its `dist/`).
 */
export const PACKAGE_ROOT = packageRootAbove(import.meta.dirname);

/** The nearest directory at or above `dir` holding a `package.json`. */
function packageRootAbove(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    if (existsSync(path.join(at, 'package.json'))) return at;
    if (path.dirname(at) === at) return path.resolve(dir, '..', '..');
  }
}

/** Repository root: the directory that holds `targets/`, `shared/` and `package.json`. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');
/** This repository's example targets (the five systems and the demo). Others: {@link targetsDirectory}. */
export const TARGETS_DIR = path.join(PROJECT_ROOT, 'targets');

/** One problem in a target file. */
export interface ConfigIssue {
  /** The file, relative to the working directory when inside it. */
  file: string;
  /** Path inside the target, e.g. `deploy.steps[2].timeout`; empty for the file as a whole. */
  path: string;
  message: string;
}

/** A target file (or several) is invalid; `issues` lists every problem found. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Formats a path inside a target the way an editor would write it.
 *
 * @example
 * formatPath(['deploy', 'steps', 2, 'timeout']) // 'deploy.steps[2].timeout'
 */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const text = String(segment);
      return i === 0 ? text : `.${text}`;
    })
    .join('');
}

/** Formats one issue as `file: path: message` (or `file: message` for the file as a whole). */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.file}: ${issue.path}: ${issue.message}` : `${issue.file}: ${issue.message}`;
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** A zod schema seen through its definition (what the messages need of it: shapes and options). */
interface SchemaNode {
  _zod: { def: Record<string, unknown> & { type: string } };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The value at a path of the input, or undefined when any step is missing. */
function valueAt(input: unknown, segments: readonly PropertyKey[]): unknown {
  let value = input;
  for (const segment of segments) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** Whether an object schema's literal fields (`type: 'ec2'`) allow the value. */
function literalsAllow(node: SchemaNode, value: unknown): boolean {
  const shape = record(node._zod.def.shape);
  const given = record(value);
  if (!shape || !given) return true;
  return Object.entries(shape).every(([key, field]) => {
    const def = (field as SchemaNode)._zod.def;
    return def.type !== 'literal' || !(key in given) || (def.values as unknown[]).includes(given[key]);
  });
}

/** The schemas a value may be checked against (wrappers and unions opened). */
function variants(node: SchemaNode, value: unknown): SchemaNode[] {
  const def = node._zod.def;
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return variants(def.innerType as SchemaNode, value);
    case 'pipe':
      return variants(def.in as SchemaNode, value);
    case 'union':
      return (def.options as SchemaNode[])
        .flatMap((option) => variants(option, value))
        .filter((option) => literalsAllow(option, value));
    default:
      return [node];
  }
}

/** The keys an object at a path of the target may have. */
function allowedKeysAt(segments: readonly PropertyKey[], input: unknown): string[] {
  let nodes = variants(targetSchema as unknown as SchemaNode, input);
  let value = input;
  for (const segment of segments) {
    const child = valueAt(value, [segment]);
    nodes = nodes.flatMap((node) => {
      const def = node._zod.def;
      const shape = record(def.shape);
      if (def.type === 'object' && shape && typeof segment === 'string' && shape[segment]) {
        return variants(shape[segment] as SchemaNode, child);
      }
      if (def.type === 'array' && typeof segment === 'number')
        return variants(def.element as SchemaNode, child);
      if (def.type === 'record') return variants(def.valueType as SchemaNode, child);
      return [];
    });
    value = child;
  }
  const keys = nodes.flatMap((node) => Object.keys(record(node._zod.def.shape) ?? {}));
  return [...new Set(keys)];
}

/**
 * Levenshtein distance between two keys, ignoring case.
 *
 * @example
 * editDistance('healthgate', 'healthGate') // 0
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[y.length] ?? 0;
}

/**
 * The closest allowed key to an unknown one, if close enough to be a typo (or the one allowed key
 * it abbreviates).
 *
 * @example
 * suggestKey('healthgate', ['steps', 'rollback', 'healthGate']) // 'healthGate'
 */
export function suggestKey(unknown: string, allowed: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of allowed) {
    const distance = editDistance(unknown, key);
    if (!best || distance < best.distance) best = { key, distance };
  }
  const tolerance = Math.max(1, Math.floor(unknown.length / 3));
  if (best && best.distance <= tolerance) return best.key;
  // A shortened key (`workingdir` for `workingDirectory`): the one allowed key it begins.
  const lower = unknown.toLowerCase();
  const prefixed = allowed.filter((key) => lower.length >= 4 && key.toLowerCase().startsWith(lower));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** What was given, for a message: `the string "30"`, `the number 0`, `an array`. */
function describeGiven(value: unknown, withType: boolean): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}…` : value);
    return withType ? `the string ${shown}` : shown;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return withType ? `the ${typeof value} ${String(value)}` : String(value);
  }
  if (typeof value === 'function') return 'a function';
  return 'an object';
}

/** Zod's own wording (`Invalid input: expected object, received undefined`) as ours (`expected an object`). */
function ownWording(message: string): string {
  const generic = /^Invalid input: expected (\w+)/.exec(message);
  if (!generic) return message;
  const type = generic[1] ?? 'value';
  return `expected ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** Codes whose message says what was expected of the value itself (so what was given helps). */
const VALUE_CODES = new Set([
  'invalid_type',
  'invalid_format',
  'invalid_value',
  'too_small',
  'too_big',
  'not_multiple_of',
]);

/**
 * The one branch of a failed union the input was meant for: the branches whose literal fields
 * (`type`) match, and of those the one with the fewest problems, when there is exactly one.
 */
function intendedBranch(branches: readonly z.core.$ZodIssue[][]): z.core.$ZodIssue[] | undefined {
  const matching = branches.filter(
    (issues) =>
      !issues.some((i) => i.code === 'invalid_value' && i.path.length === 1 && i.path[0] === 'type') &&
      // The unfilled(...) alternative of a field: what the value failed is the field itself.
      !(issues.length === 1 && issues[0]?.message === UNFILLED_MISMATCH),
  );
  const fewest = Math.min(...matching.map((issues) => issues.length));
  const best = matching.filter((issues) => issues.length === fewest);
  return best.length === 1 ? best[0] : undefined;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  input: unknown,
  file: string,
  prefix: PropertyKey[],
): ConfigIssue[] {
  const segments = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branch = intendedBranch(issue.errors);
    if (branch) return branch.flatMap((inner) => describeIssue(inner, input, file, segments));
    return [{ file, path: formatPath(segments), message: issue.message }];
  }
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(segments, input);
    return issue.keys.map((key) => {
      const suggestion = suggestKey(key, allowed);
      const hint = suggestion
        ? `did you mean "${suggestion}"?`
        : `expected one of: ${allowed.map((k) => `"${k}"`).join(', ')}`;
      return { file, path: formatPath(segments), message: `unknown key "${key}" (${hint})` };
    });
  }
  const message = ownWording(issue.message);
  const last = segments.at(-1);
  const parent = record(valueAt(input, segments.slice(0, -1)));
  if (issue.code === 'invalid_type' && typeof last === 'string' && parent && !(last in parent)) {
    return [{ file, path: formatPath(segments), message: `missing key "${last}" (${message})` }];
  }
  const given = valueAt(input, segments);
  if (VALUE_CODES.has(issue.code) && given !== undefined && !message.includes(', got ')) {
    return [
      {
        file,
        path: formatPath(segments),
        message: `${message}, got ${describeGiven(given, issue.code === 'invalid_type')}`,
      },
    ];
  }
  return [{ file, path: formatPath(segments), message }];
}

/** Every issue of a failed parse, worded for the person editing the file. */
function issuesFromZod(error: z.core.$ZodError, file: string, input: unknown): ConfigIssue[] {
  return error.issues.flatMap((issue) => describeIssue(issue, input, file, []));
}

/**
 * Validates a target value (the default export of a target file).
 *
 * @param value - what the file exported
 * @param file - the file name used in messages
 * @param expectedName - the name the file implies; the target's `name` must match it
 * @throws ConfigError listing every problem
 */
export function parseTarget(value: unknown, file: string, expectedName?: string): Target {
  const result = targetSchema.safeParse(value);
  if (!result.success) throw new ConfigError(issuesFromZod(result.error, file, value));
  if (expectedName !== undefined && result.data.name !== expectedName) {
    throw new ConfigError([
      {
        file,
        path: 'name',
        message: `expected "${expectedName}" to match the file name, got "${result.data.name}"`,
      },
    ]);
  }
  return result.data;
}

/** Resolves a target name (`datizmo`) or a file path (`./my-target.ts`) to a file. */
export function resolveTargetFile(nameOrFile: string, targetsDir = targetsDirectory()): string {
  if (isTargetPath(nameOrFile)) return path.resolve(nameOrFile);
  return path.join(targetsDir, `${nameOrFile}.ts`);
}

/** A target file, loaded: the validated target and the value the file exported. */
export interface LoadedTarget {
  target: Target;
  /** The default export as written (defaults not applied), e.g. to register it. */
  input: TargetInput;
  /** The file, as shown in messages. */
  file: string;
}

/**
 * Loads and validates one target file, keeping what it exported.
 *
 * @example
 * const { target, input } = await loadTargetFile('./my-target.ts');
 * registerTarget(input);
 * @throws ConfigError when the file is missing, does not export a target, or is invalid
 */
export async function loadTargetFile(
  nameOrFile: string,
  targetsDir = targetsDirectory(),
): Promise<LoadedTarget> {
  const file = resolveTargetFile(nameOrFile, targetsDir);
  const shown = displayPath(file);
  if (!existsSync(file)) {
    const known = (await listTargetNames(targetsDir)).join(', ') || 'none';
    throw new ConfigError([
      { file: shown, path: '', message: `no such target file (known targets: ${known})` },
    ]);
  }
  let module: { default?: unknown };
  try {
    module = await importTargetFile(file);
  } catch (error) {
    const message = `cannot load the file: ${(error as Error).message.split('\n')[0]}`;
    throw new ConfigError([{ file: shown, path: '', message }]);
  }
  if (module.default === undefined) {
    throw new ConfigError([
      { file: shown, path: '', message: 'expected `export default defineTarget({...})`' },
    ]);
  }
  const target = parseTarget(module.default, shown, path.basename(file, '.ts'));
  return { target, input: module.default as TargetInput, file: shown };
}

/**
 * Loads and validates one target file.
 *
 * @example
 * const target = await loadTarget('datizmo');
 * @throws ConfigError when the file is missing, does not export a target, or is invalid
 */
export async function loadTarget(nameOrFile: string, targetsDir = targetsDirectory()): Promise<Target> {
  return (await loadTargetFile(nameOrFile, targetsDir)).target;
}

/** Whether a command-line argument names a target file rather than a target. */
export function isTargetPath(nameOrFile: string): boolean {
  return /[/\\]|\.ts$/.test(nameOrFile);
}

/**
 * Names of the target files in a directory, sorted (the rules of `discovery.ts`: `<name>.ts`, not
 * `index.ts`, `_*.ts` or `*.test.ts`); none when the directory does not exist.
 */
export async function listTargetNames(targetsDir = targetsDirectory()): Promise<string[]> {
  return targetFilesIn(targetsDir).files.map((f) => f.name);
}

/** The target files of a directory and the files named as no target may be; none when it does not exist. */
function targetFilesIn(targetsDir: string): { files: { name: string }[]; issues: TargetFileIssue[] } {
  try {
    return listTargetFiles(targetsDir);
  } catch {
    return { files: [], issues: [] };
  }
}

/**
 * Loads several targets (every target file of the directory when `names` is empty, and the files
 * named as no target may be), collecting the problems of all.
 *
 * @returns the valid targets (and, in `loaded`, each with its file) and every issue of the invalid ones
 */
export async function loadTargets(
  names: readonly string[] = [],
  targetsDir = targetsDirectory(),
): Promise<{ targets: Target[]; loaded: LoadedTarget[]; issues: ConfigIssue[] }> {
  const listing = names.length > 0 ? undefined : targetFilesIn(targetsDir);
  const wanted = listing ? listing.files.map((f) => f.name) : names;
  const loaded: LoadedTarget[] = [];
  const issues: ConfigIssue[] = [...(listing?.issues ?? [])];
  for (const name of wanted) {
    try {
      loaded.push(await loadTargetFile(name, targetsDir));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  return { targets: loaded.map((l) => l.target), loaded, issues };
}

/** Whether this module runs from the TypeScript sources (Node 24 strips the types) or from `dist/`. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * The file a `stepops` or `stepops/<subpath>` import stands for: the running package's own export
 * (its compiled file, or the source beside it when running from the sources), so that a target
 * file shares the CLI's modules instead of loading another copy.
 *
 * @throws Error when the package exports no such subpath
 */
function ownExport(specifier: string): string {
  const subpath = `.${specifier.slice('stepops'.length)}`;
  const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    exports?: Record<string, string | { import?: string; default?: string }>;
  };
  const entry = manifest.exports?.[subpath];
  const target = typeof entry === 'string' ? entry : (entry?.import ?? entry?.default);
  if (target === undefined) throw new Error(`the stepops package exports no "${specifier}"`);
  const compiled = path.join(PACKAGE_ROOT, target);
  if (!FROM_SOURCES) return compiled;
  const source = path.relative(path.join(PACKAGE_ROOT, 'dist'), compiled).replace(/\.js$/, '.ts');
  return path.join(PACKAGE_ROOT, source);
}

/** Whether a file is part of the stepops package (its code or its dependencies). */
function insidePackage(file: string): boolean {
  const relative = path.relative(PACKAGE_ROOT, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * The esbuild plugin of {@link importTargetFile}: `stepops` imports and every file of the package
 * stay imports of the running package's own modules (by absolute URL); the rest is bundled.
 */
function ownPackageExternal(entry: string): Plugin {
  return {
    name: 'stepops-own-package',
    setup(build) {
      const skip = Symbol('resolving');
      build.onResolve({ filter: /^stepops(\/.*)?$/ }, (args) => ({
        path: pathToFileURL(ownExport(args.path)).href,
        external: true,
      }));
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === skip || args.kind === 'entry-point') return undefined;
        let file: string;
        if (args.path.startsWith('file:')) {
          file = fileURLToPath(args.path);
        } else {
          const resolved = await build.resolve(args.path, {
            kind: args.kind,
            resolveDir: args.resolveDir,
            importer: args.importer,
            pluginData: skip,
          });
          if (resolved.errors.length > 0 || resolved.external) return resolved;
          file = resolved.path;
        }
        const real = existsSync(file) ? realpathSync(file) : file;
        if (insidePackage(real) && real !== entry) return { path: pathToFileURL(real).href, external: true };
        return { path: file };
      });
    },
  };
}

/**
 * Imports a target file written in TypeScript, on any Node version: esbuild bundles it (its own
 * imports included, except the stepops package itself, which stays the running one) into a
 * temporary `.mjs` file, which is imported and removed. Node 20 cannot import `.ts` files, and no
 * Node strips types inside `node_modules`.
 *
 * @example
 * const { default: target } = await importTargetFile('/repo/stepops/targets/shop.ts');
 * @throws Error when the file does not compile or its code throws while loading
 */
export async function importTargetFile(file: string): Promise<{ default?: unknown }> {
  const { build } = await import('esbuild');
  const entry = realpathSync(file);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    sourcemap: 'inline',
    // A bundled CommonJS dependency may require() Node's own modules.
    banner: {
      js: "import { createRequire as __stepopsRequire } from 'node:module'; const require = __stepopsRequire(import.meta.url);",
    },
    plugins: [ownPackageExternal(entry)],
  });
  const code = result.outputFiles[0]?.text ?? '';
  const dir = await mkdtemp(path.join(tmpdir(), 'stepops-target-'));
  const bundled = path.join(dir, `${path.basename(file, path.extname(file))}.mjs`);
  try {
    await writeFile(bundled, code);
    return (await import(pathToFileURL(bundled).href)) as { default?: unknown };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
