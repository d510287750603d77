/**
 * The target registry: the one place that answers "which targets exist", for the CLI, the local
 * engine, the stacks and the Lambdas. Targets by name, validated once, from
 * - the targets directory, listed and loaded by {@link discoverTargets} (the CLI before each
 *   command, the stacks before they build, the tests in their setup), or, in a Lambda, the targets
 *   its bundle holds as data, validated when it was built (`bundled-targets.ts`);
 * - targets registered at run time (fixtures of tests and of the local engine), which take
 *   precedence.
 *
 * The target model and its loader come through `target-validation.ts`, which a Lambda bundle
 * replaces with no validation: a Lambda answers from its data and cannot validate other targets.
 */

import { InvalidInputError } from '../errors.ts';
import { bundledTargets } from './bundled-targets.ts';
import { listTargetFiles, shownPath, targetsDirectory, targetsDirectoryNamed } from './discovery.ts';
import type { ConfigError, ConfigIssue } from './load.ts';
import type { Target, TargetInput } from './schema.ts';
import { type TargetValidation, targetValidation } from './target-validation.ts';

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

/** The registry was asked before the targets were discovered (a Lambda bundled without the plugin). */
export class TargetsNotDiscoveredError extends Error {
  constructor() {
    super(
      'the targets have not been discovered: call discoverTargets() first (a Lambda bundles them with the stepops targets plugin)',
    );
    this.name = 'TargetsNotDiscoveredError';
  }
}

/** A Lambda bundle was asked to validate a target: its targets were validated when it was built. */
export class TargetValidationUnavailableError extends Error {
  constructor(what: string) {
    super(
      `${what}: this Lambda holds the targets validated when it was built and cannot validate others (discoverTargets and registerTarget are for the CLI, the local engine and the tests)`,
    );
    this.name = 'TargetValidationUnavailableError';
  }
}

/**
 * A target file found in the targets directory (or bundled): the validated target with what the
 * file exported, or why it cannot load.
 */
type Discovered = { file: string; input: TargetInput; target: Target } | { file: string; error: ConfigError };

const registered = new Map<string, TargetInput>();
const parsed = new Map<string, Target>();
let discovered: Map<string, Discovered> | undefined = bundledTargets
  ? new Map(
      // A validated target is a valid input (validating it again gives the same target).
      bundledTargets.map((t) => [t.name, { file: t.file, input: t.target as TargetInput, target: t.target }]),
    )
  : undefined;

/** The target model's validation; throws in a Lambda bundle, which has none. */
function validation(what: string): TargetValidation {
  if (!targetValidation) throw new TargetValidationUnavailableError(what);
  return targetValidation;
}

/**
 * Lists the targets directory and loads every target file in it, replacing what an earlier call
 * found. A file that does not load or is invalid is kept with its error, thrown when that target is
 * asked for; the other targets stay usable.
 *
 * @param dir - the targets directory (default: {@link targetsDirectory})
 * @returns the files in the directory named as no target may be (`file: message`)
 * @example
 * await discoverTargets(); // the CLI, before a command
 * await discoverTargets('/tmp/fixture-targets');
 * listTargets(); // the names of the files there
 * @throws TargetsDirectoryError when the directory was named (option or `STEPOPS_TARGETS_DIR`) and
 * does not exist; a default directory that does not exist holds no target
 * @throws TargetValidationUnavailableError in a Lambda bundle
 */
export async function discoverTargets(dir?: string): Promise<ConfigIssue[]> {
  const { ConfigError, loadTargetFile } = validation('discoverTargets');
  const targetsDir = targetsDirectory({ dir });
  let listing: ReturnType<typeof listTargetFiles>;
  try {
    listing = listTargetFiles(targetsDir);
  } catch (error) {
    if (targetsDirectoryNamed({ dir })) throw error;
    listing = { files: [], issues: [] };
  }
  const found = new Map<string, Discovered>();
  for (const { name, file } of listing.files) {
    try {
      const loaded = await loadTargetFile(file);
      found.set(name, { file: shownPath(file), input: loaded.input, target: loaded.target });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      found.set(name, { file: shownPath(file), error });
    }
  }
  discovered = found;
  for (const name of found.keys()) if (!registered.has(name)) parsed.delete(name);
  return listing.issues;
}

/**
 * The file each discovered target was loaded from (as messages show it), by name.
 *
 * @example
 * discoveredTargetFiles().get('shop') // 'targets/shop.ts'
 */
export function discoveredTargetFiles(): Map<string, string> {
  return new Map([...(discovered ?? new Map<string, Discovered>())].map(([name, d]) => [name, d.file]));
}

/**
 * What each discovered target file exported (defaults not applied), by name; files that do not
 * load are left out. In a Lambda bundle, the targets validated when it was built (defaults applied).
 *
 * @example
 * registerTarget({ ...discoveredTargetInputs().get('zmanim'), description: 'a variant' });
 * @throws TargetsNotDiscoveredError before {@link discoverTargets} (outside a Lambda bundle)
 */
export function discoveredTargetInputs(): Map<string, TargetInput> {
  const inputs = new Map<string, TargetInput>();
  for (const [name, found] of discoveredTargets()) if ('input' in found) inputs.set(name, found.input);
  return inputs;
}

/** The discovered targets; throws when nothing was discovered yet. */
function discoveredTargets(): Map<string, Discovered> {
  if (!discovered) throw new TargetsNotDiscoveredError();
  return discovered;
}

/**
 * Names of every known target (discovered and registered), sorted.
 *
 * @example
 * listTargets() // ['ai-chat', 'datizmo', 'demo', 'docsai', 'shop', 'zmanim']
 * @throws TargetsNotDiscoveredError before {@link discoverTargets} (outside a Lambda bundle)
 */
export function listTargets(): string[] {
  return [...new Set([...discoveredTargets().keys(), ...registered.keys()])].sort();
}

/**
 * Finds a target by name and validates it (once; the result is cached).
 *
 * @example
 * const target = findTarget('zmanim');
 * target.hosts.type; // 'ec2'
 * @throws UnknownTargetError when no target has that name
 * @throws ConfigError when the target's file does not load or the target is invalid, naming the
 * file and listing every problem
 * @throws TargetsNotDiscoveredError before {@link discoverTargets} (outside a Lambda bundle)
 * @throws TargetValidationUnavailableError for a registered target in a Lambda bundle
 */
export function findTarget(name: string): Target {
  const cached = parsed.get(name);
  if (cached) return cached;
  const input = registered.get(name);
  let target: Target;
  if (input !== undefined) {
    target = validation(`registered target "${name}"`).parseTarget(
      input,
      `registered target "${name}"`,
      name,
    );
  } else {
    const found = discoveredTargets().get(name);
    if (found === undefined) throw new UnknownTargetError(name, listTargets());
    if ('error' in found) throw found.error;
    target = found.target;
  }
  parsed.set(name, target);
  return target;
}

/**
 * Registers a target under its name; it takes precedence over a discovered target of the same name.
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
 * Forgets every registered target (and the cached validations), leaving the discovered ones.
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
 * command line), as opposed to discovered in the targets directory.
 *
 * @example
 * registerTarget(fixture);
 * isRegistered('fixture') // true
 */
export function isRegistered(name: string): boolean {
  return registered.has(name);
}
