/**
 * The few typed helpers the workflows share. Every Lambda Task is built with {@link lambdaTask},
 * so each has a timeout, the retry of transient Lambda errors and a catch that leads to a path
 * which notifies.
 */
import type { Catcher, JsonObject, Retrier, State, TaskState } from '../shared/engine/asl.ts';

export type * from '../shared/engine/asl.ts';

/**
 * Errors of the Lambda service itself, worth retrying (the function did not run, or not fully).
 * `Lambda.ClientExecutionTimeoutException`: the invoke call timed out, though the function may
 * have run; the functions that act (send-command) are idempotent, so a retry cannot act twice.
 */
export const TRANSIENT_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

/** The retrier of transient Lambda errors: 1 s, 2 s, 4 s with full jitter. */
export const TRANSIENT_RETRY: Retrier = {
  ErrorEquals: [...TRANSIENT_LAMBDA_ERRORS],
  IntervalSeconds: 1,
  BackoffRate: 2,
  MaxAttempts: 3,
  JitterStrategy: 'FULL',
};

/** Task timeout when none is given. */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 30;

/** Options of {@link lambdaTask}. */
export interface LambdaTaskOptions {
  /** The next state; omit with `end: true`. */
  next?: string;
  end?: true;
  /** Seconds before Step Functions gives up on the invocation (`States.Timeout`). */
  timeoutSeconds?: number;
  parameters?: JsonObject;
  resultSelector?: JsonObject;
  /** Where the result goes; `null` keeps the input unchanged. */
  resultPath?: string | null;
  /** Where every error not retried goes: a state on a path that notifies. */
  catchNext: string;
  /** Where the caught `{ Error, Cause }` goes (default `$.error`). */
  catchResultPath?: string;
  /** Retriers of domain errors, tried before the transient one. */
  retry?: Retrier[];
  comment?: string;
}

/**
 * A Task invoking a Lambda function by ARN, with a timeout, the transient retry and a catch-all.
 *
 * @example
 * lambdaTask(arns['plan-deploy'], { next: 'AcquireLock', timeoutSeconds: 30, resultPath: '$.plan', catchNext: 'Notify', catchResultPath: '$.failures.PlanDeploy' })
 */
export function lambdaTask(arn: string, options: LambdaTaskOptions): TaskState {
  const catcher: Catcher = {
    ErrorEquals: ['States.ALL'],
    ResultPath: options.catchResultPath ?? '$.error',
    Next: options.catchNext,
  };
  const body = {
    Type: 'Task' as const,
    ...(options.comment ? { Comment: options.comment } : {}),
    Resource: arn,
    ...(options.parameters ? { Parameters: options.parameters } : {}),
    ...(options.resultSelector ? { ResultSelector: options.resultSelector } : {}),
    ...(options.resultPath !== undefined ? { ResultPath: options.resultPath } : {}),
    TimeoutSeconds: options.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
    Retry: [...(options.retry ?? []), TRANSIENT_RETRY],
    Catch: [catcher],
  };
  if (options.end) return { ...body, End: true };
  if (!options.next) throw new Error('lambdaTask needs "next" or "end"');
  return { ...body, Next: options.next };
}

/** The account and region of the ARNs the local engine uses: they never reach AWS. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/**
 * The ARN a function has on the local engine.
 *
 * @example
 * localFunctionArn('plan-deploy') // 'arn:aws:lambda:us-east-1:000000000000:function:plan-deploy'
 */
export function localFunctionArn(name: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
}

/**
 * The local ARN of each function.
 *
 * @example
 * localArns(DEPLOY_FUNCTIONS)['notify'] // 'arn:aws:lambda:us-east-1:000000000000:function:notify'
 */
export function localArns<const N extends string>(names: readonly N[]): Record<N, string> {
  return Object.fromEntries(names.map((name) => [name, localFunctionArn(name)])) as Record<N, string>;
}

/**
 * The Task builders of one workflow: `task(fn, options)` invokes the function with the timeout the
 * workflow gives it; `step(name, fn, options)` is a top-level state whose failure is recorded under
 * `$.failures.<name>`.
 *
 * @example
 * const { task, step } = taskBuilders(arns, RECOVER_TASK_TIMEOUTS);
 * step('PlanRecovery', 'plan-recovery', { resultPath: '$.plan', next: 'AcquireLock', catchNext: 'Notify' });
 */
export function taskBuilders<F extends string>(
  arns: Readonly<Record<F, string>>,
  timeouts: Readonly<Record<F, number>>,
) {
  const task = (fn: F, options: Omit<LambdaTaskOptions, 'timeoutSeconds'>): State =>
    lambdaTask(arns[fn], { ...options, timeoutSeconds: timeouts[fn] });
  const step = (
    name: string,
    fn: F,
    options: Omit<LambdaTaskOptions, 'timeoutSeconds' | 'catchResultPath'>,
  ): [string, State] => [name, task(fn, { ...options, catchResultPath: `$.failures.${name}` })];
  return { task, step };
}

/**
 * The states that name a failed runbook step in its cause and fail the step's iteration
 * (`StepFailureHasCause` → `DescribeStepFailure[WithoutCause]` → `StepFailed`): a Task timeout
 * may come without a Cause, and a path to a missing field would fail the run. `cause` and
 * `causeWithoutCause` are the `States.Format` calls of the two.
 */
export function stepFailureStates(describe: {
  comment: string;
  cause: string;
  causeWithoutCause: string;
}): [string, State][] {
  return [
    [
      'StepFailureHasCause',
      {
        Type: 'Choice',
        Comment: 'A Task timeout may come without a Cause: a path to a missing field would fail the run.',
        Choices: [{ Variable: '$.failure.Cause', IsPresent: true, Next: 'DescribeStepFailure' }],
        Default: 'DescribeStepFailureWithoutCause',
      },
    ],
    [
      'DescribeStepFailure',
      {
        Type: 'Pass',
        Comment: describe.comment,
        Parameters: { 'error.$': '$.failure.Error', 'cause.$': describe.cause },
        ResultPath: '$.stepFailure',
        Next: 'StepFailed',
      },
    ],
    [
      'DescribeStepFailureWithoutCause',
      {
        Type: 'Pass',
        Parameters: { 'error.$': '$.failure.Error', 'cause.$': describe.causeWithoutCause },
        ResultPath: '$.stepFailure',
        Next: 'StepFailed',
      },
    ],
    ['StepDone', { Type: 'Succeed', OutputPath: '$.progress' }],
    ['StepFailed', { Type: 'Fail', ErrorPath: '$.stepFailure.error', CausePath: '$.stepFailure.cause' }],
  ];
}

/**
 * The health verification after a runbook's steps (`VerifyNeeded` → `StartVerification` →
 * `verify` looped by `VerifyDone` while it checks; `RecordUnhealthy` records `unhealthyError`),
 * then `release`. `verify` is the `VerifyHealth` Task, built by the workflow.
 */
export function verificationStates(options: {
  enabled: string;
  initial: JsonObject;
  verify: [string, State];
  unhealthyError: string;
  release: string;
}): [string, State][] {
  return [
    [
      'VerifyNeeded',
      {
        Type: 'Choice',
        Choices: [{ Variable: options.enabled, BooleanEquals: true, Next: 'StartVerification' }],
        Default: options.release,
      },
    ],
    [
      'StartVerification',
      { Type: 'Pass', Result: options.initial, ResultPath: '$.verification', Next: 'VerifyHealth' },
    ],
    options.verify,
    [
      'VerifyDone',
      {
        Type: 'Choice',
        Choices: [
          { Variable: '$.verification.status', StringEquals: 'checking', Next: 'VerifyHealth' },
          { Variable: '$.verification.status', StringEquals: 'unhealthy', Next: 'RecordUnhealthy' },
        ],
        Default: options.release,
      },
    ],
    [
      'RecordUnhealthy',
      {
        Type: 'Pass',
        Parameters: { Error: options.unhealthyError, 'Cause.$': '$.verification' },
        ResultPath: '$.failures.VerifyHealth',
        Next: options.release,
      },
    ],
  ];
}

/**
 * Whether a runbook run took its lease (`$.lock`): to `ReleaseTheLock` if so, else straight to
 * `notify`.
 */
export function lockTakenChoice(comment: string, notify: string): State {
  return {
    Type: 'Choice',
    Comment: comment,
    Choices: [{ Variable: '$.lock', IsPresent: true, Next: 'ReleaseTheLock' }],
    Default: notify,
  };
}
