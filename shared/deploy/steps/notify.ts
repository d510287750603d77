import type { Notification } from '../../drivers/ports.ts';
import type { NotifyInput, RunOutcome } from '../contracts.ts';
import type { DeployDeps } from '../deps.ts';
import { type DeployRunState, summarizeDeploy } from '../outcome.ts';

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
