/**
 * The targets a Lambda bundles. Empty here: when the Lambdas are built, the stepops targets
 * plugin (`shared/config/targets-bundle.ts`, given to esbuild by the stacks) replaces this
 * module with static imports of every target file of the stage, listed from the targets
 * directory at build time. Run from source (the CLI, the local engine, the tests), the registry
 * lists the directory instead.
 */
import type { TargetInput } from './schema.ts';

/** One bundled target: its name, its file as shown in messages, and what the file exported. */
export interface BundledTarget {
  name: string;
  file: string;
  input: TargetInput;
}

/** The bundled targets; `undefined` when this module was not replaced (not a Lambda bundle). */
export const bundledTargets: readonly BundledTarget[] | undefined = undefined;
