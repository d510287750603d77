/**
 * The health workflow: check the target once — probe it (every probe at once, the host-side ones
 * as one command per host set), then record the round (fold it into the stored probe states, alert
 * on transitions, start the `onFailure` runbook), in one Lambda — → succeed. A run that cannot
 * check (the step fails or times out) notifies and fails. An **Express** state machine, started by
 * EventBridge Scheduler at the target's declared rate; JSONPath only, so the same definition runs
 * on the local engine.
 *
 * Input: `{ "target": "zmanim" }`; the execution name is the run id.
 */
import { lambdaTask, type StateMachineDefinition } from './asl.ts';

/** The Lambdas of the health workflow: each is `functions/<name>/handler.ts`. */
export const HEALTH_FUNCTIONS = ['check-target', 'notify-health-failure'] as const;
export type HealthFunction = (typeof HEALTH_FUNCTIONS)[number];

/**
 * Seconds Step Functions waits for each function. check-target runs one round, as long as its
 * slowest probe's bound (a host command and its delivery), then records it: 90 s for the round and
 * 30 s for the record, as when they were two steps. The whole run stays far under the 5 minutes an
 * Express execution may last.
 */
export const HEALTH_TASK_TIMEOUTS: Record<HealthFunction, number> = {
  'check-target': 120,
  'notify-health-failure': 30,
};

/** The Lambda timeout each function is deployed with: 5 s under its Task timeout. */
export const HEALTH_FUNCTION_TIMEOUTS: Record<HealthFunction, number> = Object.fromEntries(
  HEALTH_FUNCTIONS.map((name) => [name, HEALTH_TASK_TIMEOUTS[name] - 5]),
) as Record<HealthFunction, number>;

/**
 * The health state machine for the given Lambda ARNs.
 *
 * Succeeds with the run's summary (`{ up, down, events, recovery?, maintenance? }`); fails with
 * `HealthCheckFailedError` after notifying when a step could not run.
 *
 * @example
 * const definition = healthWorkflow(localArns(HEALTH_FUNCTIONS));
 */
export function healthWorkflow(arns: Readonly<Record<HealthFunction, string>>): StateMachineDefinition {
  return {
    Comment: 'stepops health: check a target once (probe, record the round), alert on transitions, recover',
    StartAt: 'CheckTarget',
    States: {
      CheckTarget: lambdaTask(arns['check-target'], {
        comment:
          'Every probe once, then the round folded into the probe states; alerts; the recovery runbook',
        parameters: { 'target.$': '$.target', 'runId.$': '$$.Execution.Name' },
        resultPath: '$.summary',
        timeoutSeconds: HEALTH_TASK_TIMEOUTS['check-target'],
        next: 'Checked',
        catchNext: 'NotifyFailure',
        catchResultPath: '$.failure',
      }),
      Checked: { Type: 'Succeed', OutputPath: '$.summary' },
      NotifyFailure: lambdaTask(arns['notify-health-failure'], {
        parameters: {
          'target.$': '$.target',
          'runId.$': '$$.Execution.Name',
          failedState: 'CheckTarget',
          'error.$': '$.failure',
        },
        resultPath: null,
        timeoutSeconds: HEALTH_TASK_TIMEOUTS['notify-health-failure'],
        next: 'CheckFailed',
        catchNext: 'CheckFailed',
        catchResultPath: '$.notifyFailure',
      }),
      CheckFailed: {
        Type: 'Fail',
        Error: 'HealthCheckFailedError',
        Cause: 'the health check could not run; the alert names the state that failed',
      },
    },
  };
}
