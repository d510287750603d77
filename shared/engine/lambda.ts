/**
 * Calling a handler the way Lambda does: a Lambda-like context, the payload serialised as JSON both
 * ways, and a thrown error turned into what a Step Functions `Catch` sees from a Lambda Task.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** A Lambda handler as the functions in `functions/` export it (middy or plain). */
export type LambdaHandler = (event: never, context: Context) => Promise<unknown> | unknown;

/** Memory the context reports when none is configured for a function. */
export const DEFAULT_MEMORY_MB = 256;

/**
 * The function name of a Lambda ARN (`arn:aws:lambda:…:function:plan-deploy` → `plan-deploy`);
 * other strings are returned as they are.
 *
 * @example
 * functionNameOf('arn:aws:lambda:us-east-1:000000000000:function:plan-deploy') // 'plan-deploy'
 */
export function functionNameOf(resource: string): string {
  const match = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(resource);
  return match?.[1] ?? resource;
}

/** Options of {@link createLambdaContext}. */
export interface LambdaContextOptions {
  /** The ARN the Task invoked. */
  arn: string;
  /** Seconds the invocation may run: the Task's `TimeoutSeconds`. */
  timeoutSeconds: number;
  memoryMb?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Builds a Lambda-like context whose `getRemainingTimeInMillis` counts down from the Task's timeout.
 *
 * @example
 * const context = createLambdaContext({ arn, timeoutSeconds: 60 });
 * context.getRemainingTimeInMillis(); // ≈ 60000
 */
export function createLambdaContext(options: LambdaContextOptions): Context {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutSeconds * 1000;
  const functionName = functionNameOf(options.arn);
  const requestId = randomUUID();
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: options.arn,
    memoryLimitInMB: String(options.memoryMb ?? DEFAULT_MEMORY_MB),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${requestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** What AWS Lambda reports for an uncaught error, and Step Functions puts in `Cause`. */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/**
 * The error a Lambda Task raises in Step Functions for an error its function threw: `name` (the
 * `Error` a `Catch` matches) is the thrown error's name, `message` (the `Cause`) is the JSON
 * Lambda reports, `{"errorType","errorMessage","trace"}`.
 */
export class LambdaTaskError extends Error {
  readonly payload: LambdaErrorPayload;

  constructor(payload: LambdaErrorPayload) {
    super(JSON.stringify(payload));
    this.name = payload.errorType;
    this.payload = payload;
  }
}

/**
 * Converts whatever a handler threw into the error Step Functions would see.
 *
 * @example
 * toLambdaTaskError(new TargetLockedError('held by run-1')).name // 'TargetLockedError'
 */
export function toLambdaTaskError(thrown: unknown): LambdaTaskError {
  if (thrown instanceof Error) {
    return new LambdaTaskError({
      errorType: thrown.name || 'Error',
      errorMessage: thrown.message,
      trace: (thrown.stack ?? '').split('\n').filter(Boolean),
    });
  }
  return new LambdaTaskError({ errorType: 'Error', errorMessage: String(thrown), trace: [] });
}

/**
 * Parses a `Cause` written by a Lambda Task back into its parts; `undefined` for any other cause.
 *
 * @example
 * parseLambdaCause('{"errorType":"X","errorMessage":"m","trace":[]}')?.errorMessage // 'm'
 */
export function parseLambdaCause(cause: unknown): LambdaErrorPayload | undefined {
  if (typeof cause !== 'string' || !cause.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(cause) as Partial<LambdaErrorPayload>;
    if (typeof value.errorType === 'string' && typeof value.errorMessage === 'string') {
      return {
        errorType: value.errorType,
        errorMessage: value.errorMessage,
        trace: Array.isArray(value.trace) ? value.trace : [],
      };
    }
  } catch {
    // not JSON: not a Lambda cause
  }
  return undefined;
}

/**
 * Serialises a value as Lambda does between a function and Step Functions (`undefined` → `null`,
 * dates → strings, functions dropped).
 *
 * @example
 * asJson({ at: new Date(0), skip: undefined }) // { at: '1970-01-01T00:00:00.000Z' }
 */
export function asJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
