/**
 * The load balancer steps of the deploy workflow (as CodeDeploy does it): before a batch deploys,
 * its hosts leave every target group the target names and their connections drain; once the batch
 * has passed its health gate they join again and the workflow waits until the load balancer finds
 * them healthy. The rollback does the same around its hosts. Each step is a bounded long-poll: it
 * returns `waiting` when its budget is spent and the workflow's Choice calls it again.
 */
import type { Target } from '../config/schema.ts';
import type { LoadBalancer, TargetHealthResult } from '../drivers/ports.ts';
import { MAX_REPORTED_FAILURES, type TargetsInput, type TargetsWait } from './contracts.ts';
import type { DeployDeps } from './deps.ts';
import { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, type RemainingTime } from './steps/common.ts';

/** Pause between two `DescribeTargetHealth` rounds. */
export const TARGETS_POLL_MS = 1_000;

type Mode = 'drain' | 'register';

/** What each mode calls first and waits for. */
const MODES: Record<
  Mode,
  {
    start: (lb: LoadBalancer, group: string, hosts: TargetsInput['hosts']) => Promise<void>;
    done: (health: TargetHealthResult) => boolean;
    timeout: (lb: NonNullable<NonNullable<Target['deploy']>['loadBalancer']>) => number;
  }
> = {
  // Deregistered hosts are `draining` until their connections close, then `unused` (Target.NotRegistered).
  drain: {
    start: (lb, group, hosts) => lb.deregister(group, hosts),
    done: (h) => h.state === 'unused',
    timeout: (lb) => lb.drainTimeout,
  },
  register: {
    start: (lb, group, hosts) => lb.register(group, hosts),
    done: (h) => h.state === 'healthy',
    timeout: (lb) => lb.healthyTimeout,
  },
};

async function waitForTargets(
  mode: Mode,
  input: TargetsInput,
  deps: DeployDeps,
  remaining: RemainingTime,
): Promise<TargetsWait> {
  const target = deps.findTarget(input.target);
  const declared = target.deploy?.loadBalancer;
  if (!declared) return { status: 'done', rounds: input.wait.rounds };
  const { loadBalancer } = deps.driversFor(target);
  const behaviour = MODES[mode];
  if (input.wait.status === 'starting') {
    for (const group of declared.targetGroups) await behaviour.start(loadBalancer, group, input.hosts);
  }
  const deadline = input.wait.deadline
    ? Date.parse(input.wait.deadline)
    : deps.now() + behaviour.timeout(declared) * 1000;
  const budgetEnd = deps.now() + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS));
  let rounds = input.wait.rounds;
  for (;;) {
    const health = (
      await Promise.all(declared.targetGroups.map((group) => loadBalancer.health(group, input.hosts)))
    ).flat();
    rounds += 1;
    const pending = health.filter((h) => !behaviour.done(h));
    const state = (status: TargetsWait['status']): TargetsWait => ({
      status,
      rounds,
      deadline: new Date(deadline).toISOString(),
      ...(pending.length
        ? {
            pending: pending.slice(0, MAX_REPORTED_FAILURES).map((h) => ({
              targetGroup: h.targetGroup,
              hostId: h.hostId,
              state: h.state,
              ...(h.reason ? { reason: h.reason } : {}),
            })),
            pendingCount: pending.length,
          }
        : {}),
    });
    if (pending.length === 0) return state('done');
    const next = deps.now() + TARGETS_POLL_MS;
    if (next > deadline) return state('timed-out');
    if (next > budgetEnd) return state('waiting');
    await deps.sleep(TARGETS_POLL_MS);
  }
}

/**
 * drain-targets: takes the hosts out of every target group of the target (first call:
 * `DeregisterTargets`) and waits until none of them is in any group any more (`unused`), that is
 * until connection draining has finished; `timed-out` after the target's `drainTimeout`.
 *
 * @example
 * let wait = INITIAL_TARGETS_WAIT;
 * do wait = await drainTargetsStep({ target: 'web', hosts, wait }, deps, remaining);
 * while (wait.status === 'waiting');
 */
export function drainTargetsStep(
  input: TargetsInput,
  deps: DeployDeps,
  remaining: RemainingTime,
): Promise<TargetsWait> {
  return waitForTargets('drain', input, deps, remaining);
}

/**
 * register-targets: puts the hosts back in every target group of the target (first call:
 * `RegisterTargets`) and waits until the load balancer finds each of them `healthy` in every
 * group; `timed-out` after the target's `healthyTimeout`.
 *
 * @example
 * let wait = INITIAL_TARGETS_WAIT;
 * do wait = await registerTargetsStep({ target: 'web', hosts, wait }, deps, remaining);
 * while (wait.status === 'waiting');
 */
export function registerTargetsStep(
  input: TargetsInput,
  deps: DeployDeps,
  remaining: RemainingTime,
): Promise<TargetsWait> {
  return waitForTargets('register', input, deps, remaining);
}
