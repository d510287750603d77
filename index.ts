/**
 * What a target file imports from the package:
 * `import { defineTarget, unfilled, checkoutRef } from 'stepops'`. The stacks, for a repository's
 * own `sst.config.ts`, are `stepops/stacks`.
 */
export type { Target, TargetInput, Unfilled } from './shared/config/schema.ts';
export { defineTarget, unfilled } from './shared/config/schema.ts';
/** The scripts that targets share: checkout of a ref and back, disk usage, a scratch database. */
export * from './shared/recipes/scripts.ts';
