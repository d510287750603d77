/**
 * The targets a Lambda holds. Empty here: when the Lambdas are built, the stepops targets plugin
 * (`shared/config/targets-bundle.ts`, given to esbuild by the stacks) validates every target file
 * of the stage and replaces this module with the validated targets as JSON data, so that a Lambda
 * reads its targets without the target model or the target files. Run from source (the CLI, the
 * local engine, the tests), the registry lists and validates the directory instead.
 */
import type { Target } from './schema.ts';

/** One target validated when the Lambdas were built: its name, its file as messages show it, the target. */
export interface BundledTarget {
  name: string;
  file: string;
  target: Target;
}

/** The validated targets; `undefined` when this module was not replaced (not a Lambda bundle). */
export const bundledTargets: readonly BundledTarget[] | undefined = undefined;
