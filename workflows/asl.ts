/**
 * The few typed helpers the workflows share. Every Lambda Task is built with {@link lambdaTask},
 * so each has a timeout, the retry of transient Lambda errors and a catch that leads to a path
 * which notifies.
 */
import type { Catcher, JsonObject, Retrier, TaskState } from '../shared/engine/asl.ts';

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
