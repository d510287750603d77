/**
 * Runs that end where no Catch can see it (the 25,000-event history limit, `States.DataLimitExceeded`,
 * the run's own TimeoutSeconds, an abort) cannot notify: an EventBridge rule on Step Functions
 * "Execution Status Change" events (FAILED, TIMED_OUT, ABORTED) sends them to the alerts topic, and
 * the forwarder turns each event into a notification here.
 *
 * The event, as the Step Functions developer guide shows it ("EventBridge for Step Functions
 * execution status changes"): `source` `aws.states`, `detail-type` `Step Functions Execution Status
 * Change`, and a `detail` holding what DescribeExecution answers: `executionArn`, `stateMachineArn`,
 * `name`, `status`, `startDate` and `stopDate` (epoch milliseconds), `input` (a JSON string, left
 * out when too large: `inputDetails.included` false), and `error` / `cause` when the run failed.
 */
import * as z from 'zod/mini';
import { consoleUrl } from '../api/execution.ts';
import type { Notification, WorkflowName } from '../drivers/ports.ts';

/** The `detail-type` of the events. */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
/** The statuses the rule sends: the run has ended, unsuccessfully. */
export const ALERTED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** The part of the event read here; anything else is ignored. */
export const executionStatusChangeSchema = z.object({
  source: z.literal('aws.states'),
  'detail-type': z.literal(EXECUTION_STATUS_CHANGE),
  time: z.optional(z.string()),
  detail: z.object({
    executionArn: z.string().check(z.minLength(1)),
    stateMachineArn: z.string().check(z.minLength(1)),
    name: z.string().check(z.minLength(1)),
    status: z.string(),
    stopDate: z.optional(z.nullable(z.number())),
    input: z.optional(z.nullable(z.string())),
    error: z.optional(z.nullable(z.string())),
    cause: z.optional(z.nullable(z.string())),
  }),
});
export type ExecutionStatusChange = z.infer<typeof executionStatusChangeSchema>;

/** Whether an SNS message's JSON is an execution status change event (and not a notification). */
export function isExecutionStatusChange(value: unknown): boolean {
  const v = value as { source?: unknown; 'detail-type'?: unknown } | null;
  return v?.source === 'aws.states' && v['detail-type'] === EXECUTION_STATUS_CHANGE;
}

const WORKFLOW_OF_MACHINE = /-(deploy|backup|health|recover)$/;
/** Runs stepops starts are named `<target>-<16 hex>`. */
const TARGET_OF_NAME = /^([a-z0-9][a-z0-9-]*)-[0-9a-f]{16}$/;

/**
 * Errors the workflows end with after their notify step has alerted: the domain errors of their
 * Fail states. A FAILED event carrying one of them was alerted already; one carrying a `States.*`
 * error (no Catch saw it), `NotificationFailedError` (the alert itself failed) or no error at all
 * is alerted here.
 */
function alertedByTheRun(error: string | null | undefined): boolean {
  return !!error && !error.startsWith('States.') && error !== 'NotificationFailedError';
}

function targetOf(detail: ExecutionStatusChange['detail']): string | undefined {
  try {
    const input = JSON.parse(detail.input ?? '') as { target?: unknown };
    if (typeof input.target === 'string' && /^[a-z0-9][a-z0-9-]{0,62}$/.test(input.target))
      return input.target;
  } catch {
    // Left out (too large) or not JSON: the name may still say.
  }
  return TARGET_OF_NAME.exec(detail.name)?.[1];
}

/**
 * The notification for an execution that ended unsuccessfully, or why none is sent: a status the
 * rule does not alert on, a failure the run alerted itself, or a state machine that is not one of
 * stepops' workflows.
 *
 * @example
 * executionAlert(event) // { notification: { workflow: 'deploy', target: 'zmanim', outcome: 'failed', summary: 'deploy of zmanim (run zmanim-3c1f…) ended TIMED_OUT …', … } }
 */
export function executionAlert(
  event: ExecutionStatusChange,
): { notification: Notification } | { skipped: string } {
  const { detail } = event;
  if (!(ALERTED_STATUSES as readonly string[]).includes(detail.status)) {
    return { skipped: `status ${detail.status} is not alerted` };
  }
  const machine = detail.stateMachineArn.split(':').at(-1) ?? '';
  const workflow = WORKFLOW_OF_MACHINE.exec(machine)?.[1] as WorkflowName | undefined;
  if (!workflow) return { skipped: `state machine ${machine} is not a stepops workflow` };
  if (detail.status === 'FAILED' && alertedByTheRun(detail.error)) {
    return { skipped: `the run alerted its own failure (${detail.error})` };
  }
  const target = targetOf(detail);
  const how =
    detail.status === 'TIMED_OUT'
      ? 'timed out (its TimeoutSeconds)'
      : detail.status === 'ABORTED'
        ? 'was aborted (StopExecution)'
        : `failed with ${detail.error ?? 'an error no Catch could handle'}`;
  const at = detail.stopDate ?? (event.time ? Date.parse(event.time) : Number.NaN);
  return {
    notification: {
      target: target ?? 'unknown target',
      workflow,
      outcome: 'failed',
      runId: detail.name,
      summary: `${workflow} of ${target ?? 'an unknown target'} (run ${detail.name}) ${how} before it could report: nothing was rolled back or notified by the run; a lease it held expires on its own`,
      error: detail.error ?? `execution ${detail.status}`,
      ...(detail.cause ? { cause: detail.cause } : {}),
      executionUrl: consoleUrl(detail.executionArn),
      at: new Date(Number.isFinite(at) ? at : Date.now()).toISOString(),
    },
  };
}
