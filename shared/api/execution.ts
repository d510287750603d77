/**
 * Step Functions executions as the API shows them: idempotent names, ARNs, console links, and the
 * status of a run read from its description and history.
 */
import type { DescribeExecutionCommandOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { sha256Hex } from './auth.ts';
import { badRequest } from './errors.ts';

/** Step Functions limits execution names to 80 characters of this alphabet (for CloudWatch too). */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** What an idempotency key may be: printable ASCII, 1 to 255 characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * The execution name of a deploy: the target, then 16 hex characters of the SHA-256 of where the
 * request came from and its key. The same GitHub delivery or the same `Idempotency-Key` always gives
 * the same name, so Step Functions starts it once. At most 63 + 1 + 16 = 80 characters.
 *
 * @example
 * executionName('zmanim', 'github', '72d3162e-cc78-11e3-81ab-4c9367dc0958') // 'zmanim-3c1f…'
 */
export function executionName(target: string, source: 'github' | 'key' | 'random', key: string): string {
  const name = `${target}-${sha256Hex(`${source}:${key}`).slice(0, 16)}`;
  if (!EXECUTION_NAME_PATTERN.test(name)) throw new Error(`execution name "${name}" is not valid`);
  return name;
}

/**
 * Checks an `Idempotency-Key` header.
 *
 * @throws ApiError 400 naming the header
 */
export function validateIdempotencyKey(key: string): string {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw badRequest(
      'InvalidRequest',
      'Idempotency-Key: expected 1 to 255 printable ASCII characters',
      'Idempotency-Key',
    );
  }
  return key;
}

/**
 * The ARN of an execution of a state machine.
 *
 * @example
 * executionArn('arn:aws:states:eu-west-1:123456789012:stateMachine:deploy', 'zmanim-1')
 * // 'arn:aws:states:eu-west-1:123456789012:execution:deploy:zmanim-1'
 */
export function executionArn(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[5] !== 'stateMachine') {
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

/**
 * The link to an execution in the Step Functions console.
 *
 * @example
 * consoleUrl('arn:aws:states:eu-west-1:123456789012:execution:deploy:zmanim-1')
 * // 'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:…'
 */
export function consoleUrl(arn: string): string {
  const region = arn.split(':')[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}`;
}

/** The status of a deploy as `GET /deploys/{id}` answers it. */
export interface DeployStatus {
  id: string;
  executionArn: string;
  consoleUrl: string;
  status: 'running' | 'succeeded' | 'failed' | 'timed-out' | 'aborted' | 'pending-redrive';
  target?: string;
  ref?: string;
  reason?: string;
  /** The state the run is in now (running) or was last in. */
  currentState?: string;
  /** The state in which the run failed, with the error and its cause. */
  failedState?: string;
  error?: string;
  cause?: string;
  startedAt?: string;
  stoppedAt?: string;
}

const STATUS: Record<string, DeployStatus['status']> = {
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  TIMED_OUT: 'timed-out',
  ABORTED: 'aborted',
  PENDING_REDRIVE: 'pending-redrive',
};

const FAILURE_TYPES = new Set([
  'TaskFailed',
  'TaskTimedOut',
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionStartFailed',
  'LambdaFunctionScheduleFailed',
  'ExecutionFailed',
  'ExecutionTimedOut',
  'ExecutionAborted',
]);

function failureOf(event: HistoryEvent): { error?: string; cause?: string } | undefined {
  const details =
    event.taskFailedEventDetails ??
    event.taskTimedOutEventDetails ??
    event.lambdaFunctionFailedEventDetails ??
    event.lambdaFunctionTimedOutEventDetails ??
    event.lambdaFunctionStartFailedEventDetails ??
    event.lambdaFunctionScheduleFailedEventDetails ??
    event.executionFailedEventDetails ??
    event.executionTimedOutEventDetails ??
    event.executionAbortedEventDetails;
  if (!details) return undefined;
  return {
    ...(details.error ? { error: details.error } : {}),
    ...(details.cause ? { cause: details.cause.slice(0, 2000) } : {}),
  };
}

function inputFields(input: string | undefined): Pick<DeployStatus, 'target' | 'ref' | 'reason'> {
  try {
    const value = JSON.parse(input ?? '{}') as Record<string, unknown>;
    const pick = (key: string) => (typeof value[key] === 'string' ? { [key]: value[key] as string } : {});
    return { ...pick('target'), ...pick('ref'), ...pick('reason') };
  } catch {
    return {};
  }
}

/**
 * Summarises an execution from `DescribeExecution` and its history read newest first
 * (`GetExecutionHistory` with `reverseOrder: true`): the last state entered and, for a failed run,
 * the state it failed in and the error.
 *
 * @example
 * deployStatus('zmanim-1', describe, history.events ?? [])
 */
export function deployStatus(
  id: string,
  execution: Pick<
    DescribeExecutionCommandOutput,
    'executionArn' | 'status' | 'input' | 'startDate' | 'stopDate' | 'error' | 'cause'
  >,
  newestFirst: readonly HistoryEvent[],
): DeployStatus {
  const arn = execution.executionArn ?? '';
  const status = STATUS[execution.status ?? ''] ?? 'running';
  const lastEntered = newestFirst.find((e) => e.stateEnteredEventDetails?.name !== undefined);
  const result: DeployStatus = {
    id,
    executionArn: arn,
    consoleUrl: consoleUrl(arn),
    status,
    ...inputFields(execution.input),
    ...(lastEntered ? { currentState: lastEntered.stateEnteredEventDetails!.name! } : {}),
    ...(execution.startDate ? { startedAt: execution.startDate.toISOString() } : {}),
    ...(execution.stopDate ? { stoppedAt: execution.stopDate.toISOString() } : {}),
  };
  if (status === 'failed' || status === 'timed-out' || status === 'aborted') {
    const failedState = failedStateOf(execution, newestFirst);
    if (failedState) result.failedState = failedState;
    const taskFailure = newestFirst.find(
      (e) => FAILURE_TYPES.has(e.type ?? '') && !e.type!.startsWith('Execution'),
    );
    const failure = taskFailure ? failureOf(taskFailure) : undefined;
    const error = execution.error ?? failure?.error;
    const cause = execution.cause ?? failure?.cause;
    if (error) result.error = error;
    if (cause) result.cause = cause.slice(0, 2000);
  }
  return result;
}

/** The states a failed run passes through after the failure itself: never the state that failed. */
const TERMINAL_STATES = new Set(['Failed', 'NotifyFailed', 'RunSucceeded', 'Succeeded']);

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The state a run failed in, as the workflow itself recorded it: the `failedState` of the outcome
 * the `Notify` step returned (the Lambda's own output, which history never truncates below 256 KiB,
 * or the state's output), else the `failed state:` line of the cause the run ended with (the text
 * `summarizeDeploy` writes), else the state of the newest Lambda failure, else the last state
 * entered that is not a terminal state.
 */
function failedStateOf(
  execution: Pick<DescribeExecutionCommandOutput, 'cause'>,
  newestFirst: readonly HistoryEvent[],
): string | undefined {
  const notifyExit = newestFirst.find((e) => e.stateExitedEventDetails?.name === 'Notify');
  if (notifyExit) {
    const lambda = newestFirst.find(
      (e) => e.id === notifyExit.previousEventId && e.lambdaFunctionSucceededEventDetails,
    );
    const fromLambda = parseObject(lambda?.lambdaFunctionSucceededEventDetails?.output)?.failedState;
    if (typeof fromLambda === 'string' && fromLambda) return fromLambda;
    const outcome = parseObject(notifyExit.stateExitedEventDetails?.output)?.outcome as
      | Record<string, unknown>
      | undefined;
    if (typeof outcome?.failedState === 'string' && outcome.failedState) return outcome.failedState;
  }
  const line = /^(?:rollback failed state|failed state): ([A-Za-z0-9_-]+)/m.exec(execution.cause ?? '');
  if (line) return line[1];
  const taskFailure = newestFirst.find(
    (e) => FAILURE_TYPES.has(e.type ?? '') && !e.type!.startsWith('Execution'),
  );
  if (taskFailure) {
    return newestFirst.find(
      (e) => e.stateEnteredEventDetails?.name !== undefined && (e.id ?? 0) < (taskFailure.id ?? 0),
    )?.stateEnteredEventDetails?.name;
  }
  return newestFirst.find(
    (e) =>
      e.stateEnteredEventDetails?.name !== undefined &&
      !TERMINAL_STATES.has(e.stateEnteredEventDetails.name) &&
      e.type !== 'FailStateEntered',
  )?.stateEnteredEventDetails?.name;
}
