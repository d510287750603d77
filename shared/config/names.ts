/**
 * The patterns of names and numeric conditions, alone so that the Lambdas' contracts use it without bundling the whole
 * target model (`schema.ts` re-exports it).
 */

/** Names of targets, steps, probes, jobs and runbooks: safe in a shell, a tag and an ARN. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** A numeric condition: an operator and a number, such as `"< 60"` or `">= 99.5"`. */
export const NUMERIC_CONDITION_PATTERN = /^(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)$/;
