/**
 * The fixed lists of values some commands take, apart from the commands' work so that their
 * definitions (options and help) name them without loading it.
 */

/** The workflows a plan can be printed for. */
export const PLAN_KINDS = ['deploy', 'backup', 'health', 'recover', 'maintenance'] as const;

/** A workflow a plan can be printed for. */
export type PlanKind = (typeof PLAN_KINDS)[number];

/** The parts of `stepops demo`, in its order. */
export const DEMO_PARTS = ['deploy', 'backup', 'health', 'recover', 'maintain'] as const;
