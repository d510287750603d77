/**
 * The health workflow: check the target once — probe it (every probe at once, the host-side ones
 * as one command per host set), then record the round (fold it into the stored probe states, alert
 * on transitions, start the `onFailure` runbook), in one Lambda — → publish the public status page
 * when the round decided to (a public probe changed state, or the last publish is older than the
 * interval) → succeed. A run that cannot check (the step fails or times out) notifies and fails; a
 * publish that fails does not fail the run: it succeeds with the failure in its output. An
 * **Express** state machine, started by a scheduled EventBridge rule at the target's declared rate;
 * JSONPath only, so the same definition runs on the local engine.
 *
 * Input: `{ "target": "zmanim" }`; the execution name is the run id.
 */

import { STATUS_PUBLISH_EVERY_SECONDS } from '../shared/health/status-publish.ts';
import { lambdaTask, type StateMachineDefinition } from './asl.ts';

/** The Lambdas of the health workflow: each is `functions/<name>/handler.ts`. */
export const HEALTH_FUNCTIONS = ['check-target', 'notify-health-failure', 'publish-status-page'] as const;
export type HealthFunction = (typeof HEALTH_FUNCTIONS)[number];

/** The function a stage deploys only with a status page (see `statusPage` in stacks/settings.ts). */
export const STATUS_PAGE_FUNCTION = 'publish-status-page' satisfies HealthFunction;

/**
 * Seconds Step Functions waits for each function. check-target runs one round, as long as its
 * slowest probe's bound (a host command and its delivery), then records it: 90 s for the round and
 * 30 s for the record, as when they were two steps. publish-status-page reads every target's state
 * item and puts one object. The whole run stays far under the 5 minutes an Express execution may last.
 */
export const HEALTH_TASK_TIMEOUTS: Record<HealthFunction, number> = {
  'check-target': 120,
  'notify-health-failure': 30,
  'publish-status-page': 30,
};

/** The Lambda timeout each function is deployed with: 5 s under its Task timeout. */
export const HEALTH_FUNCTION_TIMEOUTS: Record<HealthFunction, number> = Object.fromEntries(
  HEALTH_FUNCTIONS.map((name) => [name, HEALTH_TASK_TIMEOUTS[name] - 5]),
) as Record<HealthFunction, number>;

/** The ARNs the workflow needs: publish-status-page only where a status page is published. */
export type HealthArns = Readonly<Record<Exclude<HealthFunction, typeof STATUS_PAGE_FUNCTION>, string>> & {
  readonly 'publish-status-page'?: string;
};

/**
 * The health state machine for the given Lambda ARNs. With a `publish-status-page` ARN, check-target
 * is told the publish interval and a Choice publishes the status page when the round decided to;
 * without it, no page is published.
 *
 * Succeeds with the run's summary (`{ up, down, events, recovery?, maintenance?, publishStatus?,
 * statusPage? }`); fails with `HealthCheckFailedError` after notifying when the check could not run.
 *
 * @example
 * const definition = healthWorkflow(localArns(HEALTH_FUNCTIONS));
 */
export function healthWorkflow(arns: HealthArns): StateMachineDefinition {
  const publisher = arns['publish-status-page'];
  const publishStates: StateMachineDefinition['States'] = publisher
    ? {
        PublishStatus: {
          Type: 'Choice',
          Comment:
            'Publish when a public probe changed state, or the last publish is older than the interval',
          Choices: [
            {
              And: [
                { Variable: '$.summary.publishStatus', IsPresent: true },
                { Variable: '$.summary.publishStatus', BooleanEquals: true },
              ],
              Next: 'PublishStatusPage',
            },
          ],
          Default: 'Checked',
        },
        PublishStatusPage: lambdaTask(publisher, {
          comment:
            'Every target’s state read, the public status page rendered and put (S3, or the local file)',
          parameters: { 'target.$': '$.target', 'runId.$': '$$.Execution.Name' },
          resultPath: '$.summary.statusPage',
          timeoutSeconds: HEALTH_TASK_TIMEOUTS['publish-status-page'],
          next: 'Checked',
          // Not alerted: the checks ran and alerted; the page is retried by a later run.
          catchNext: 'StatusPageNotPublished',
          catchResultPath: '$.statusPageFailure',
        }),
        StatusPageNotPublished: {
          Type: 'Pass',
          Comment: 'A failed publish does not fail the health run: its error goes in the output',
          Parameters: { published: false, 'failure.$': '$.statusPageFailure' },
          ResultPath: '$.summary.statusPage',
          Next: 'Checked',
        },
      }
    : {};
  return {
    Comment: 'stepops health: check a target once (probe, record the round), alert on transitions, recover',
    StartAt: 'CheckTarget',
    States: {
      CheckTarget: lambdaTask(arns['check-target'], {
        comment:
          'Every probe once, then the round folded into the probe states; alerts; the recovery runbook',
        parameters: {
          'target.$': '$.target',
          'runId.$': '$$.Execution.Name',
          ...(publisher ? { statusPageEverySeconds: STATUS_PUBLISH_EVERY_SECONDS } : {}),
        },
        resultPath: '$.summary',
        timeoutSeconds: HEALTH_TASK_TIMEOUTS['check-target'],
        next: publisher ? 'PublishStatus' : 'Checked',
        catchNext: 'NotifyFailure',
        catchResultPath: '$.failure',
      }),
      ...publishStates,
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
