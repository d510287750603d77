/**
 * The target registry: targets by name, validated once, from the static registry in
 * `targets/index.ts` (what the Lambdas bundle) and from targets registered at run time (fixtures
 * of tests and of the local engine), which take precedence.
 */
import { targets as builtIn } from '../../targets/index.ts';
import { InvalidInputError } from '../errors.ts';
import { parseTarget } from './load.ts';
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
