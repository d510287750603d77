/**
 * The target registry: targets by name, validated once, from the static registry in
 * `targets/index.ts` (what the Lambdas bundle) and from targets registered at run time (fixtures
 * of tests and of the local engine), which take precedence.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { targets as builtIn } from '../../targets/index.ts';
import { InvalidInputError } from '../errors.ts';
import { type ConfigIssue, PROJECT_ROOT, parseTarget, TARGETS_DIR } from './load.ts';
import type { Target, TargetInput } from './schema.ts';

/** No target of that name is known. */
export class UnknownTargetError extends InvalidInputError {
  /** The name that was asked for. */
  readonly target: string;
  /** The names that are known, sorted. */
  readonly known: string[];

  constructor(target: string, known: string[]) {
    super(`unknown target "${target}" (known targets: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownTargetError';
    this.target = target;
    this.known = known;
  }
}

const registered = new Map<string, TargetInput>();
const parsed = new Map<string, Target>();

/**
 * Names of every known target (built-in and registered), sorted.
 *
 * @example
 * listTargets() // ['ai-chat', 'datizmo', 'demo', 'docsai', 'shop', 'zmanim']
 */
export function listTargets(): string[] {
  return [...new Set([...Object.keys(builtIn), ...registered.keys()])].sort();
}

/**
 * Finds a target by name and validates it (once; the result is cached).
 *
 * @example
 * const target = findTarget('zmanim');
 * target.hosts.type; // 'ec2'
 * @throws UnknownTargetError when no target has that name
 * @throws ConfigError when the target is invalid, listing every problem
 */
export function findTarget(name: string): Target {
  const cached = parsed.get(name);
  if (cached) return cached;
  const input = registered.get(name) ?? (Object.hasOwn(builtIn, name) ? builtIn[name] : undefined);
  if (input === undefined) throw new UnknownTargetError(name, listTargets());
  const file = registered.has(name) ? `registered target "${name}"` : `targets/${name}.ts`;
  const target = parseTarget(input, file, name);
  parsed.set(name, target);
  return target;
}

/**
 * Registers a target under its name; it takes precedence over a built-in target of the same name.
 * The target is validated when it is first found.
 *
 * @example
 * registerTarget({ name: 'fixture', description: 'a test host', hosts: { type: 'local', directory: '/tmp/host' } });
 * findTarget('fixture');
 * @throws InvalidInputError when the value has no usable name
 */
export function registerTarget(target: TargetInput): void {
  const name = (target as { name?: unknown }).name;
  if (typeof name !== 'string' || name === '') {
    throw new InvalidInputError('a registered target needs a name');
  }
  registered.set(name, target);
  parsed.delete(name);
}

/**
 * Forgets every registered target (and the cached validations), leaving the built-in ones.
 *
 * @example
 * afterEach(() => clearRegisteredTargets());
 */
export function clearRegisteredTargets(): void {
  registered.clear();
  parsed.clear();
}

/**
 * Whether a target of that name was registered at run time (a fixture, a file named on the
 * command line), as opposed to built in.
 *
 * @example
 * registerTarget(fixture);
 * isRegistered('fixture') // true
 */
export function isRegistered(name: string): boolean {
  return registered.has(name);
}

/** The identifier a target file is imported as in `targets/index.ts` (`ai-chat` → `aiChat`). */
function importName(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The target files in `targets/` that the static registry (`targets/index.ts`, what the Lambdas
 * bundle, since they cannot read files) does not hold: each issue names the two lines to add.
 * `validate` reports them and a stage refuses to deploy until they are added.
 *
 * @example
 * unregisteredTargetFiles() // [] when targets/index.ts holds every file
 * // after adding targets/billing.ts:
 * // [{ file: 'targets/billing.ts', path: '', message: 'not in the registry the Lambdas bundle: add …' }]
 */
export function unregisteredTargetFiles(
  targetsDir = TARGETS_DIR,
  only?: readonly string[],
): (ConfigIssue & { target: string })[] {
  let files: string[];
  try {
    files = readdirSync(targetsDir);
  } catch {
    return [];
  }
  const names = files
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .filter((name) => (only === undefined || only.includes(name)) && !Object.hasOwn(builtIn, name))
    .sort();
  const shown = (file: string) => {
    const relative = path.relative(PROJECT_ROOT, file);
    return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  };
  const index = shown(path.join(targetsDir, 'index.ts'));
  return names.map((name) => {
    const id = importName(name);
    const key = id === name ? id : `'${name}': ${id}`;
    return {
      target: name,
      file: shown(path.join(targetsDir, `${name}.ts`)),
      path: '',
      message: `not in the registry the Lambdas bundle: add \`import ${id} from './${name}.ts';\` and \`${key},\` to \`targets\` in ${index}`,
    };
  });
}
