/**
 * Loading and validating target files, with every problem reported at once as
 * `file: path.inside: message`.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as z from 'zod';
import { type Target, type TargetInput, targetSchema } from './schema.ts';

/** Repository root: the directory that holds `targets/`, `shared/` and `package.json`. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');
/** Where target files live. */
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

function issuesFromZod(error: z.ZodError, file: string): ConfigIssue[] {
  return error.issues.map((issue) => ({ file, path: formatPath(issue.path), message: issue.message }));
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
  if (!result.success) throw new ConfigError(issuesFromZod(result.error, file));
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
export function resolveTargetFile(nameOrFile: string, targetsDir = TARGETS_DIR): string {
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
export async function loadTargetFile(nameOrFile: string, targetsDir = TARGETS_DIR): Promise<LoadedTarget> {
  const file = resolveTargetFile(nameOrFile, targetsDir);
  const shown = displayPath(file);
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(file).href);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ERR_MODULE_NOT_FOUND' && !(error as Error).message.includes(`imported from ${file}`)
        ? `no such target file (known targets: ${(await listTargetNames(targetsDir)).join(', ') || 'none'})`
        : `cannot load the file: ${(error as Error).message.split('\n')[0]}`;
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
export async function loadTarget(nameOrFile: string, targetsDir = TARGETS_DIR): Promise<Target> {
  return (await loadTargetFile(nameOrFile, targetsDir)).target;
}

/** Whether a command-line argument names a target file rather than a target. */
export function isTargetPath(nameOrFile: string): boolean {
  return /[/\\]|\.ts$/.test(nameOrFile);
}

/** Names of the target files in a directory (`index.ts` excluded), sorted. */
export async function listTargetNames(targetsDir = TARGETS_DIR): Promise<string[]> {
  const entries = await readdir(targetsDir).catch(() => [] as string[]);
  return entries
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/**
 * Loads several targets (every target file when `names` is empty), collecting the problems of all.
 *
 * @returns the valid targets and every issue of the invalid ones
 */
export async function loadTargets(
  names: readonly string[] = [],
  targetsDir = TARGETS_DIR,
): Promise<{ targets: Target[]; issues: ConfigIssue[] }> {
  const wanted = names.length > 0 ? names : await listTargetNames(targetsDir);
  const targets: Target[] = [];
  const issues: ConfigIssue[] = [];
  for (const name of wanted) {
    try {
      targets.push(await loadTarget(name, targetsDir));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
    }
  }
  return { targets, issues };
}
