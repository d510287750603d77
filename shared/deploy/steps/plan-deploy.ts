/**
 * plan-deploy: validates a deploy request and plans the run, with the length of its lease.
 */
import { refuseUnfilledDeploy } from '../../config/target-values.ts';
import { InvalidInputError } from '../../errors.ts';
import { ASSUMED_BATCHES_FOR_COUNT, LEASE_MARGIN_SECONDS, MAX_LEASE_SECONDS } from '../bounds.ts';
import { type DeployPlanSummary, deployRequestSchema, type PlanDeployInput } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import type { DeployPlan } from '../plan.ts';
import { planFor } from './common.ts';

function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .map((i) => `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`)
    .join('; ');
}

/**
 * Seconds the lease of a deploy lasts: its estimated longest run (every batch's script and gate, a
 * rollback and its gate) plus a margin, capped at {@link MAX_LEASE_SECONDS}, so that a run that
 * dies frees its target on its own.
 *
 * @example
 * leaseTtlSeconds(planDeploy(target, 'v2', 'r1')) // e.g. 1290
 */
export function leaseTtlSeconds(plan: DeployPlan): number {
  const size = plan.batchSize;
  const batches =
    typeof size === 'string'
      ? Math.ceil(100 / Math.max(1, Number.parseInt(size, 10)))
      : ASSUMED_BATCHES_FOR_COUNT;
  const lb = plan.loadBalancer
    ? plan.loadBalancer.drainTimeoutSeconds + plan.loadBalancer.healthyTimeoutSeconds
    : 0;
  const perBatch = plan.deployTimeoutSeconds + plan.healthGate.timeoutSeconds + lb;
  const rollback = plan.rollbackTimeoutSeconds + plan.healthGate.timeoutSeconds + lb;
  return Math.min(MAX_LEASE_SECONDS, batches * perBatch + rollback + LEASE_MARGIN_SECONDS);
}

/**
 * plan-deploy: validates the request (strictly: unknown fields, a bad target name or a ref a shell
 * could read as more than a ref are refused), loads the target and plans the deploy.
 *
 * @throws InvalidInputError (or UnknownTargetError, ConfigError) before anything touches a host
 * @example
 * planDeployStep({ input: { target: 'demo', ref: 'v2' }, runId: 'r1' }, deps).healthGate.probes // ['app-health']
 */
export function planDeployStep(input: PlanDeployInput, deps: DeployDeps): DeployPlanSummary {
  const request = deployRequestSchema.safeParse(input.input);
  if (!request.success) {
    throw new InvalidInputError(`invalid deploy request: ${issuesText(request.error.issues)}`);
  }
  const { target: name, ref, reason, requestedBy } = request.data;
  const { target, plan } = planFor(deps, name, ref, input.runId);
  // A marker never reaches AWS (an RDS snapshot of "<unfilled: …>"): refused before the lease.
  refuseUnfilledDeploy(target);
  const snapshot = plan.snapshot;
  return {
    target: target.name,
    ref: plan.ref,
    runId: plan.runId,
    ...(reason !== undefined ? { reason } : {}),
    ...(requestedBy !== undefined ? { requestedBy } : {}),
    batchSize: plan.batchSize,
    maxErrors: plan.maxErrors,
    snapshot: {
      enabled: snapshot.ebs || snapshot.rdsInstance !== undefined,
      ebs: snapshot.ebs,
      ...(snapshot.rdsInstance ? { rdsInstance: snapshot.rdsInstance } : {}),
    },
    healthGate: plan.healthGate,
    verify: plan.verifyScript !== undefined,
    loadBalancer: plan.loadBalancer !== undefined,
    deployTimeoutSeconds: plan.deployTimeoutSeconds,
    rollbackTimeoutSeconds: plan.rollbackTimeoutSeconds,
    lockTtlSeconds: leaseTtlSeconds(plan),
  };
}
