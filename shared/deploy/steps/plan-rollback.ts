import {
  INITIAL_GATE,
  INITIAL_TARGETS_WAIT,
  type PlanRollbackInput,
  type RollbackPlan,
} from '../contracts.ts';
import { describeBatchFailure, touchedBatches } from '../outcome.ts';

/**
 * plan-rollback: reads why the batches stopped and lists every host already touched (all batches up
 * to the failed one), with a fresh health gate for after the rollback.
 *
 * @example
 * planRollbackStep({ batches, failure: { Error: 'BatchFailedError', Cause: '{"batchIndex":0,…}' } }).hosts
 */
export function planRollbackStep(input: PlanRollbackInput): RollbackPlan {
  const failure = describeBatchFailure(input.failure);
  const touched = touchedBatches(input.batches, failure.batchIndex);
  const hosts = touched.flatMap((b) => b.hosts);
  return {
    hosts,
    hostCount: input.batches[0]?.hostCount ?? input.batches.reduce((n, b) => n + b.hosts.length, 0),
    batchesTouched: touched.length,
    failure,
    gate: INITIAL_GATE,
    drain: INITIAL_TARGETS_WAIT,
    register: INITIAL_TARGETS_WAIT,
  };
}
