import type { Notification } from '../../drivers/ports.ts';
import type { NotifyInput, RunOutcome } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { type DeployRunState, RELEASE_STATE, summarizeDeploy } from '../outcome.ts';
import { releaseLockStep } from './release-lock.ts';

function executionUrl(executionId: string | undefined): string | undefined {
  const match =
    executionId && /^arn:aws[a-z-]*:states:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:execution:/.exec(executionId);
  if (!match) return undefined;
  const region = match[1];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionId}`;
}

/**
 * notify: says how the run ended (see {@link summarizeDeploy}), publishes it through the target's
 * notifier (or the fallback one when the target is unknown), and returns the outcome the workflow
 * ends with.
 *
 * @example
 * await notifyStep({ run: $, runId: 'r1' }, deps) // { outcome: 'rolled-back', error: 'DeployFailedError', … }
 */
export async function notifyStep(input: NotifyInput, deps: DeployDeps): Promise<RunOutcome> {
  const summary = summarizeDeploy(input.run as DeployRunState);
  let notifier = deps.fallbackNotifier;
  try {
    const target = deps.findTarget(summary.target);
    notifier = () => deps.driversFor(target).notifier;
  } catch {
    // unknown or invalid target: the fallback notifier
  }
  const url = executionUrl(input.executionId);
  const notification: Notification = {
    target: summary.target,
    workflow: 'deploy',
    outcome: summary.outcome,
    runId: input.runId,
    summary: summary.summary,
    ...(summary.ref !== undefined ? { ref: summary.ref } : {}),
    ...(summary.failedState ? { failedState: summary.failedState } : {}),
    ...(summary.error ? { error: summary.error } : {}),
    ...(summary.cause ? { cause: summary.cause } : {}),
    ...(summary.host ? { host: summary.host } : {}),
    ...(summary.outputTail ? { outputTail: summary.outputTail } : {}),
    ...(url ? { executionUrl: url } : {}),
    at: new Date(deps.now()).toISOString(),
  };
  await notifier().publish(notification);
  const { target: _target, ref: _ref, outputTail: _tail, ...outcome } = summary;
  return outcome;
}

/**
 * The run state with the target's lease released: every run that planned took (or tried to take)
 * the lease, and the release deletes it only if this run still holds it (a no-op otherwise). A
 * release that fails is recorded as the `ReleaseLock` failure the notification reports (the lease
 * then expires on its own); a run whose plan failed took no lease and is returned as it is.
 *
 * @example
 * await releaseRunLease({ plan: { target: 'demo', runId: 'r1', ref: 'v2' }, failures: {} }, deps) // the same run, lease released
 */
export async function releaseRunLease(run: DeployRunState, deps: DeployDeps): Promise<DeployRunState> {
  if (!run.plan) return run;
  try {
    await releaseLockStep({ target: run.plan.target, runId: run.plan.runId }, deps);
    return run;
  } catch (error) {
    const named = error instanceof Error ? error : new Error(String(error));
    return {
      ...run,
      failures: { ...run.failures, [RELEASE_STATE]: { Error: named.name || 'Error', Cause: named.message } },
    };
  }
}

/**
 * The deploy's closing step: releases the run's lease ({@link releaseRunLease}), then says how the
 * run ended ({@link notifyStep}). One Lambda for the two steps that every run ends with.
 *
 * @example
 * await releaseAndNotifyStep({ run: $, runId: 'r1' }, deps) // { outcome: 'succeeded', … }, lease released
 */
export async function releaseAndNotifyStep(input: NotifyInput, deps: DeployDeps): Promise<RunOutcome> {
  const run = await releaseRunLease(input.run as DeployRunState, deps);
  return notifyStep({ ...input, run: run as Record<string, unknown> }, deps);
}
