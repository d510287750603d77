/**
 * The deploy plan: what a deploy of a target at a ref will run, decided before anything runs.
 */
import type { Target } from '../config/schema.ts';
import { InvalidInputError } from '../errors.ts';
import { hostScriptOptions, type RunHosts, renderScript, validateRef } from '../shell/script.ts';

/** Seconds added to a script's step timeouts for the wrapper itself. */
const SCRIPT_MARGIN_SECONDS = 30;

/** Everything a deploy run needs after the plan state, small enough for the state payload. */
export interface DeployPlan {
  target: string;
  ref: string;
  runId: string;
  deployScript: string;
  rollbackScript: string;
  /** The checks run on every host before any host changes; absent when the target declares none. */
  verifyScript?: string;
  verifyTimeoutSeconds?: number;
  /** Seconds the deploy script may run on a host: its steps' timeouts plus a margin. */
  deployTimeoutSeconds: number;
  rollbackTimeoutSeconds: number;
  /** Hosts per batch: a count, or a percentage of the resolved hosts. */
  batchSize: number | string;
  /** Failed hosts a batch tolerates: a count or a percentage of the batch. */
  maxErrors: number | string;
  snapshot: { ebs: boolean; rdsInstance?: string };
  /** Target groups each batch leaves while it deploys, and how long to wait to drain and to be healthy. */
  loadBalancer?: { targetGroups: string[]; drainTimeoutSeconds: number; healthyTimeoutSeconds: number };
  healthGate: { probes: string[]; timeoutSeconds: number; intervalSeconds: number; successes: number };
}

/**
 * Plans a deploy: validates the ref and renders the verify, deploy and rollback scripts exactly as
 * the hosts will run them. With the hosts a script is sent to, each host sets its
 * `STEPOPS_HOST_INDEX` and `STEPOPS_HOST_COUNT`, and run-once steps run on host 0 only.
 *
 * @example
 * const plan = planDeploy(await loadTarget('demo'), 'v2', 'run-1');
 * console.log(plan.deployScript);
 * @throws InvalidInputError when the target has no deploy section or the ref is invalid
 */
export function planDeploy(target: Target, ref: string, runId: string, hosts?: RunHosts): DeployPlan {
  const deploy = target.deploy;
  if (!deploy) throw new InvalidInputError(`target "${target.name}" has no deploy section`);
  validateRef(ref);
  const env = { TARGET: target.name, REF: ref, RUN_ID: runId };
  const hostOptions = { ...hostScriptOptions(target.hosts), ...(hosts ? { hosts } : {}) };
  const sum = (steps: readonly { timeout: number }[]) =>
    steps.reduce((total, step) => total + step.timeout, SCRIPT_MARGIN_SECONDS);
  return {
    target: target.name,
    ref,
    runId,
    deployScript: renderScript({
      title: `deploy ${target.name} ${ref}`,
      env,
      steps: deploy.steps,
      ...hostOptions,
    }),
    rollbackScript: renderScript({
      title: `rollback ${target.name} from ${ref}`,
      env,
      steps: deploy.rollback,
      ...hostOptions,
    }),
    ...(deploy.verify
      ? {
          verifyScript: renderScript({
            title: `verify ${target.name} ${ref}`,
            env,
            steps: deploy.verify,
            ...hostOptions,
          }),
          verifyTimeoutSeconds: sum(deploy.verify),
        }
      : {}),
    deployTimeoutSeconds: sum(deploy.steps),
    rollbackTimeoutSeconds: sum(deploy.rollback),
    batchSize: deploy.batches.size,
    maxErrors: deploy.batches.maxErrors,
    snapshot: {
      ebs: deploy.snapshotBeforeDeploy?.ebs ?? false,
      ...(deploy.snapshotBeforeDeploy?.rdsInstance
        ? { rdsInstance: deploy.snapshotBeforeDeploy.rdsInstance }
        : {}),
    },
    ...(deploy.loadBalancer
      ? {
          loadBalancer: {
            targetGroups: deploy.loadBalancer.targetGroups,
            drainTimeoutSeconds: deploy.loadBalancer.drainTimeout,
            healthyTimeoutSeconds: deploy.loadBalancer.healthyTimeout,
          },
        }
      : {}),
    healthGate: {
      probes: deploy.healthGate.probes,
      timeoutSeconds: deploy.healthGate.timeout,
      intervalSeconds: deploy.healthGate.interval,
      successes: deploy.healthGate.successes,
    },
  };
}

/**
 * Resolves a count-or-percentage against a total: `"25%"` of 10 is 3 (rounded up, at least 1 for
 * sizes); a number is taken as it is, capped at the total.
 *
 * @example
 * resolveCount('25%', 10, 1) // 3
 */
export function resolveCount(value: number | string, total: number, minimum: number): number {
  const count = typeof value === 'number' ? value : Math.ceil((Number.parseInt(value, 10) / 100) * total);
  return Math.min(total, Math.max(minimum, count));
}

/**
 * Splits hosts into batches of the plan's size, in order.
 *
 * @example
 * splitIntoBatches(['a', 'b', 'c'], 2) // [['a', 'b'], ['c']]
 */
export function splitIntoBatches<T>(hosts: readonly T[], size: number | string): T[][] {
  const perBatch = resolveCount(size, hosts.length, 1);
  const batches: T[][] = [];
  for (let i = 0; i < hosts.length; i += perBatch) batches.push(hosts.slice(i, i + perBatch));
  return batches;
}
