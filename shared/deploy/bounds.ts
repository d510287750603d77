/**
 * How long a deploy run, a batch and a command may take at most. Every wait of the deploy workflow
 * has a deadline (a command's, a health gate's), so these are real bounds: the lease is renewed to
 * them and the state machine's `TimeoutSeconds` covers them. Pure: the stack imports this module.
 */
import type { Target } from '../config/schema.ts';
import { type DeployPlan, planDeploy } from './plan.ts';

/** Lease time beyond the estimated run time. */
export const LEASE_MARGIN_SECONDS = 600;
/** Longest lease a deploy takes: a run that dies frees its target within this time. */
export const MAX_LEASE_SECONDS = 12 * 3600;
/** Batches assumed when the batch size is a count and the host count is not known yet. */
export const ASSUMED_BATCHES_FOR_COUNT = 20;

/**
 * Seconds a command may take beyond its script's timeout before polling gives up on it: SSM's
 * delivery timeout (600 s, how long it keeps trying to reach an instance) and a minute for the last
 * status reads.
 */
export const COMMAND_DELIVERY_MARGIN_SECONDS = 660;
/** Seconds a status read or gate call may take past a deadline it checks (the Task timeouts). */
const LOOP_SLACK_SECONDS = 2 * 90;

/**
 * Seconds the states around the batches may take at most (plan, lock, hosts, snapshots, release,
 * notify: their Task timeouts with the transient retries).
 */
const RUN_OVERHEAD_SECONDS = 1_200;

/**
 * Batches a plan is assumed to run in when the host count is not known yet: a percentage size
 * gives at most `ceil(100 / percent)`; a count gives `ceil(hosts / size)` when the hosts are listed
 * by id, else {@link ASSUMED_BATCHES_FOR_COUNT}.
 *
 * @example
 * assumedBatches({ batchSize: '25%' }) // 4
 * assumedBatches({ batchSize: 2 }, 5) // 3
 */
export function assumedBatches(plan: Pick<DeployPlan, 'batchSize'>, hostCount?: number): number {
  const size = plan.batchSize;
  if (typeof size === 'string') return Math.ceil(100 / Math.max(1, Number.parseInt(size, 10)));
  return hostCount === undefined ? ASSUMED_BATCHES_FOR_COUNT : Math.max(1, Math.ceil(hostCount / size));
}

/**
 * The longest a deploy run can take in `batches` batches: every batch's command to its deadline
 * and its health gate, a rollback and its gate, and the states around them. Every wait of the
 * workflow has a deadline, so this bounds the run; the state machine's `TimeoutSeconds` is at
 * least this for every target of the stage.
 *
 * @example
 * runBoundSeconds(planDeploy(target, 'v2', 'r1'), 2) // e.g. 4980
 */
export function runBoundSeconds(plan: DeployPlan, batches: number): number {
  const gate = plan.healthGate.timeoutSeconds + LOOP_SLACK_SECONDS;
  const command = (seconds: number) => seconds + COMMAND_DELIVERY_MARGIN_SECONDS + LOOP_SLACK_SECONDS;
  const batch = command(plan.deployTimeoutSeconds) + gate + loadBalancerSeconds(plan);
  const rollback = command(plan.rollbackTimeoutSeconds) + gate + loadBalancerSeconds(plan);
  const verify = plan.verifyTimeoutSeconds === undefined ? 0 : command(plan.verifyTimeoutSeconds);
  return RUN_OVERHEAD_SECONDS + verify + batches * batch + rollback;
}

/** Seconds a batch may wait on its load balancer: the drain and the registration, to their deadlines. */
function loadBalancerSeconds(plan: DeployPlan): number {
  const lb = plan.loadBalancer;
  return lb ? lb.drainTimeoutSeconds + lb.healthyTimeoutSeconds + 2 * LOOP_SLACK_SECONDS : 0;
}

/**
 * The longest a deploy of a target can take, before its hosts are known (see {@link assumedBatches}).
 * A target without a deploy section gives 0.
 *
 * @example
 * deployRunBoundSeconds(findTarget('zmanim')) // e.g. 9400
 */
export function deployRunBoundSeconds(target: Target): number {
  if (!target.deploy) return 0;
  const plan = planDeploy(target, 'HEAD', 'bound');
  const hosts = target.hosts;
  const count = hosts.type === 'ec2' && 'instanceIds' in hosts ? hosts.instanceIds.length : undefined;
  return runBoundSeconds(plan, assumedBatches(plan, count));
}

/**
 * Seconds the lease must still last when a command is sent: that command to its deadline, its
 * health gate, and a rollback with its gate, plus a margin. Each send renews the lease to this, so
 * a live run keeps its target and a dead one frees it within one batch's bound.
 *
 * @example
 * batchLeaseSeconds(planDeploy(target, 'v2', 'r1')) // e.g. 2730
 */
export function batchLeaseSeconds(plan: DeployPlan): number {
  const gate = plan.healthGate.timeoutSeconds + LOOP_SLACK_SECONDS;
  const command = (seconds: number) => seconds + COMMAND_DELIVERY_MARGIN_SECONDS + LOOP_SLACK_SECONDS;
  return Math.min(
    MAX_LEASE_SECONDS,
    command(plan.deployTimeoutSeconds) +
      gate +
      command(plan.rollbackTimeoutSeconds) +
      gate +
      2 * loadBalancerSeconds(plan) +
      LEASE_MARGIN_SECONDS,
  );
}
