/**
 * What the deploy steps share: the long-poll bounds and the plan of a run
 * as the target file gives it (a command is always rendered again from the target, never read from
 * the state).
 */
import type { Target } from '../../config/schema.ts';
import type { RunHosts } from '../../shell/script.ts';
import type { DeployDeps } from '../deps.ts';
import { type DeployPlan, planDeploy } from '../plan.ts';

/** Longest a long-poll Lambda waits before it returns "still running": waiting is a bounded long-poll and a Choice loop. */
export const LONG_POLL_MAX_MS = 50_000;
/** Time a long-poll Lambda keeps in hand before its own timeout. */
export const LONG_POLL_SAFETY_MS = 10_000;

/** Remaining time of the invocation, in milliseconds (`context.getRemainingTimeInMillis`). */
export type RemainingTime = () => number;

/** The target (from the target file) and its deploy plan for a ref and a run. */
export function planFor(
  deps: DeployDeps,
  target: string,
  ref: string,
  runId: string,
  hosts?: RunHosts,
): { target: Target; plan: DeployPlan } {
  const found = deps.findTarget(target);
  return { target: found, plan: planDeploy(found, ref, runId, hosts) };
}
