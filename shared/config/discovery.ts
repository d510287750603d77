/**
 * Finding target files: which directory holds them, and which of its files are targets. The CLI,
 * the local engine and the stacks list the same directory with the same rules; nothing lists
 * targets by hand.
 *
 * The directory: `--targets <dir>` (the CLI), else `$STEPOPS_TARGETS_DIR`, else `stepops/targets/`
 * when the current directory has one (what `stepops init` writes), else `targets/`.
 *
 * The files: each `<name>.ts` directly in the directory is the target `<name>`. Not targets, and
 * skipped: files not ending in `.ts`, declaration files (`*.d.ts`), files whose name has another
 * dot (`billing.test.ts`, `billing.spec.ts`), files starting with `_` or `.` (helpers the targets
 * share: `_common.ts`), `index.ts`, and folders. Any other `.ts` file must be named as a target
 * is (lowercase letters, digits and dashes, starting with a letter): one that is not is a problem
 * naming the file, not silently skipped.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../errors.ts';
import { NAME_PATTERN } from './names.ts';

/** The environment variable naming the targets directory. */
export const TARGETS_DIR_ENV = 'STEPOPS_TARGETS_DIR';

/** The targets directory `stepops init` writes, relative to the repository. */
export const INIT_TARGETS_DIR = path.join('stepops', 'targets');

/** The directory chosen by the command line (`--targets`), which wins over the environment. */
let chosen: string | undefined;

/**
 * Chooses the targets directory for this process (the CLI's `--targets`), resolved from the
 * working directory; `undefined` forgets the choice.
 *
 * @example
 * chooseTargetsDirectory('ops/targets');
 * targetsDirectory(); // '/work/app/ops/targets'
 */
export function chooseTargetsDirectory(dir: string | undefined): void {
  chosen = dir === undefined ? undefined : path.resolve(dir);
}

/** Where {@link targetsDirectory} looks, and what it answers with. */
export interface TargetsDirectoryOptions {
  /** A directory given explicitly (an option): wins over everything. */
  dir?: string | undefined;
  env?: Record<string, string | undefined>;
  /** The directory the defaults and relative paths are resolved from. */
  cwd?: string;
}

/**
 * The targets directory: the one given, else the one chosen on the command line, else
 * `$STEPOPS_TARGETS_DIR`, else `stepops/targets/` if it exists, else `targets/` (absolute).
 *
 * @example
 * targetsDirectory({ cwd: '/work/app', env: {} }) // '/work/app/stepops/targets' once `stepops init` ran, else '/work/app/targets'
 * targetsDirectory({ env: { STEPOPS_TARGETS_DIR: 'ops' }, cwd: '/work/app' }) // '/work/app/ops'
 */
export function targetsDirectory(options: TargetsDirectoryOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const fromEnv = (options.env ?? process.env)[TARGETS_DIR_ENV]?.trim() || undefined;
  const given = options.dir ?? chosen ?? fromEnv;
  if (given !== undefined) return path.resolve(cwd, given);
  const initDir = path.join(cwd, INIT_TARGETS_DIR);
  return existsSync(initDir) ? initDir : path.join(cwd, 'targets');
}

/**
 * Whether the targets directory was named (option, command line or environment) rather than
 * defaulted: a named directory must exist.
 */
export function targetsDirectoryNamed(options: Pick<TargetsDirectoryOptions, 'dir' | 'env'> = {}): boolean {
  return (
    options.dir !== undefined ||
    chosen !== undefined ||
    Boolean((options.env ?? process.env)[TARGETS_DIR_ENV]?.trim())
  );
}

/** What a file of the targets directory is. */
export type TargetFileKind =
  | { kind: 'target'; name: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'invalid'; message: string };

/**
 * Classifies one file name of the targets directory (the rules in this module's header).
 *
 * @example
 * classifyTargetFile('ai-chat.ts') // { kind: 'target', name: 'ai-chat' }
 * classifyTargetFile('ai-chat.test.ts').kind // 'skipped'
 * classifyTargetFile('_common.ts').kind // 'skipped'
 * classifyTargetFile('AiChat.ts').kind // 'invalid'
 */
export function classifyTargetFile(fileName: string): TargetFileKind {
  if (!fileName.endsWith('.ts')) return { kind: 'skipped', reason: 'not a .ts file' };
  const stem = fileName.slice(0, -3);
  if (stem.startsWith('_') || stem.startsWith('.')) {
    return { kind: 'skipped', reason: 'starts with "_" or ".": a helper, not a target' };
  }
  if (stem.includes('.')) {
    return { kind: 'skipped', reason: 'another dot in the name (a test, a declaration file, …)' };
  }
  if (stem === 'index') return { kind: 'skipped', reason: 'index.ts is not a target' };
  if (!NAME_PATTERN.test(stem)) {
    return {
      kind: 'invalid',
      message: `"${stem}" is not a target name (lowercase letters, digits and dashes, starting with a letter, at most 63): rename the file, or start its name with "_" if it is not a target`,
    };
  }
  return { kind: 'target', name: stem };
}

/** A target file found in the directory. */
export interface TargetFile {
  /** The target's name: the file name without `.ts`. */
  name: string;
  /** The file's absolute path. */
  file: string;
}

/** A file of the targets directory that is neither a target nor skipped. */
export interface TargetFileIssue {
  /** The file, as shown in messages. */
  file: string;
  /** Always empty: the problem is the file as a whole. */
  path: '';
  message: string;
}

/** The targets directory does not exist or is not a directory. */
export class TargetsDirectoryError extends InvalidInputError {
  /** The directory, absolute. */
  readonly dir: string;

  constructor(dir: string, problem: string) {
    super(
      `targets directory ${shownPath(dir)}: ${problem} (set it with --targets <dir> or ${TARGETS_DIR_ENV})`,
    );
    this.name = 'TargetsDirectoryError';
    this.dir = dir;
  }
}

/**
 * A path as messages show it: relative to the working directory when inside it, else absolute.
 *
 * @example
 * shownPath(path.join(process.cwd(), 'targets', 'shop.ts')) // 'targets/shop.ts'
 */
export function shownPath(file: string, cwd = process.cwd()): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/**
 * Lists the target files of a directory (sorted by name) and the files named as no target may be.
 *
 * @example
 * listTargetFiles('targets').files.map((f) => f.name) // ['ai-chat', 'datizmo', 'demo', 'docsai', 'shop', 'zmanim']
 * @throws TargetsDirectoryError when the directory does not exist or is not a directory
 */
export function listTargetFiles(dir: string): { files: TargetFile[]; issues: TargetFileIssue[] } {
  const absolute = path.resolve(dir);
  let entries: string[];
  try {
    entries = readdirSync(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TargetsDirectoryError(
      absolute,
      code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : String(error),
    );
  }
  const files: TargetFile[] = [];
  const issues: TargetFileIssue[] = [];
  for (const entry of entries.sort()) {
    const file = path.join(absolute, entry);
    const kind = classifyTargetFile(entry);
    if (kind.kind === 'skipped' || !isFile(file)) continue;
    if (kind.kind === 'invalid') issues.push({ file: shownPath(file), path: '', message: kind.message });
    else files.push({ name: kind.name, file });
  }
  return { files, issues };
}

/** Whether a path is a file (following a symbolic link). */
function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
