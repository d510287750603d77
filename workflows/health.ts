/**
 * The health workflow: probe the target once (every probe at once, the host-side ones as one
 * command per host set) → record the round (fold it into the stored probe states, alert on
 * transitions, start the `onFailure` runbook) → succeed. A run that cannot check (a step fails or
 * times out) notifies and fails. An **Express** state machine, started by EventBridge Scheduler at
 * the target's declared rate; JSONPath only, so the same definition runs on the local engine.
 *
 * Input: `{ "target": "zmanim" }`; the execution name is the run id.
 */
import { type JsonObject, lambdaTask, type StateMachineDefinition } from './asl.ts';

/** The Lambdas of the health workflow: each is `functions/<name>/handler.ts`. */
export const HEALTH_FUNCTIONS = ['probe-target', 'record-health', 'notify-health-failure'] as const;
export type HealthFunction = (typeof HEALTH_FUNCTIONS)[number];

/**
 * Seconds Step Functions waits for each function. probe-target runs one round, at most its slowest
 * probe's bound (a host command and its delivery), well inside it; the whole run stays far under
 * the 5 minutes an Express execution may last.
 */
export const HEALTH_TASK_TIMEOUTS: Record<HealthFunction, number> = {
  'probe-target': 90,
  'record-health': 30,
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
  const failed = (state: string): JsonObject => ({
    Type: 'Pass',
    Parameters: { 'target.$': '$.target', failedState: state, 'error.$': `$.failure` },
    Next: 'NotifyFailure',
  });
  return {
    Comment: 'stepops health: probe a target once, record the round, alert on transitions, recover',
    StartAt: 'ProbeTarget',
    States: {
      ProbeTarget: lambdaTask(arns['probe-target'], {
        comment: 'Every probe of the target once; host-side probes as one command per host set',
        parameters: { 'target.$': '$.target', 'runId.$': '$$.Execution.Name' },
        resultPath: '$.round',
        timeoutSeconds: HEALTH_TASK_TIMEOUTS['probe-target'],
        next: 'RecordHealth',
        catchNext: 'ProbeFailed',
        catchResultPath: '$.failure',
      }),
      RecordHealth: lambdaTask(arns['record-health'], {
        comment: 'Fold the round into the probe states; alert on transitions; start the recovery runbook',
        parameters: {
          'target.$': '$.round.target',
          'runId.$': '$.round.runId',
          'at.$': '$.round.at',
          'hosts.$': '$.round.hosts',
          'results.$': '$.round.results',
        },
        resultPath: '$.summary',
        timeoutSeconds: HEALTH_TASK_TIMEOUTS['record-health'],
        next: 'Checked',
        catchNext: 'RecordFailed',
        catchResultPath: '$.failure',
      }),
      Checked: { Type: 'Succeed', OutputPath: '$.summary' },
      ProbeFailed: failed('ProbeTarget') as never,
      RecordFailed: failed('RecordHealth') as never,
      NotifyFailure: lambdaTask(arns['notify-health-failure'], {
        parameters: {
          'target.$': '$.target',
          'runId.$': '$$.Execution.Name',
          'failedState.$': '$.failedState',
          'error.$': '$.error',
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
