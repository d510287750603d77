/**
 * The callback pattern on the local engine: a Task whose resource is
 * `arn:aws:states:::lambda:invoke.waitForTaskToken` invokes its function with a task token and then
 * waits until the token is answered, as `SendTaskSuccess` / `SendTaskFailure` answer it on AWS, or
 * until its `TimeoutSeconds` (or `HeartbeatSeconds` without a heartbeat) runs out (`States.Timeout`).
 *
 * aws-local-stepfunctions has no task tokens: its context object has no `Task.Token` and a Task
 * waits only for its local handler. So the wrapper puts a placeholder in `$$.Task.Token`, and the
 * local handler of a callback Task swaps the placeholder in its payload for a fresh token from a
 * {@link TaskTokens} registry, invokes the function, and returns the promise the registry settles
 * when the token is answered. The library's own Task timeout still bounds the wait.
 */
import { randomBytes } from 'node:crypto';
import { asJson } from './lambda.ts';

/** The only callback integration the local engine runs: Lambda invoke, waiting for a task token. */
export const LAMBDA_CALLBACK_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** What `$$.Task.Token` reads on the local engine until a callback Task swaps it for a real token. */
export const TASK_TOKEN_PLACEHOLDER = 'stepops-local-task-token-placeholder';

const TOKEN_PATTERN = /^local-[A-Za-z0-9_-]{43}$/;

/** SendTaskFailure limits: `error` 256 characters, `cause` 32,768. */
const MAX_ERROR_LENGTH = 256;
const MAX_CAUSE_LENGTH = 32_768;

/** The token is not one this registry could have issued (as `InvalidToken` of the SFN API). */
export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidToken';
  }
}

/** No task waits for this token: never issued, already answered, or its run ended (`TaskDoesNotExist`). */
export class TaskDoesNotExistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskDoesNotExist';
  }
}

/** The task of this token timed out before it was answered (`TaskTimedOut`). */
export class TaskTimedOutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskTimedOut';
  }
}

/** The output or error given to the answer is not acceptable (`InvalidOutput`). */
export class InvalidOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidOutput';
  }
}

/** A callback Task answered with `sendTaskFailure`: its `name` is the error a `Catch` matches. */
export class TaskFailureError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** A callback Task whose timeout the wrapper enforces (`TimeoutSecondsPath`) ran out. */
export class CallbackTimeoutError extends Error {
  constructor(seconds: number) {
    super(`no answer within TimeoutSecondsPath (${seconds} s)`);
    this.name = 'States.Timeout';
  }
}

/** A callback Task got no heartbeat within its `HeartbeatSeconds`. */
export class HeartbeatTimeoutError extends Error {
  constructor(seconds: number) {
    super(`no heartbeat within HeartbeatSeconds (${seconds} s)`);
    this.name = 'States.Timeout';
  }
}

/** A task waiting for its token. */
export interface PendingTask {
  token: string;
  executionName: string;
  state: string;
  /** The payload the function was invoked with (token included). */
  payload: unknown;
  /** Epoch milliseconds at which the Task times out (unknown for a `TimeoutSecondsPath`). */
  expiresAt?: number;
}

interface Entry extends PendingTask {
  resolve(output: unknown): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
  heartbeat?: NodeJS.Timeout;
  heartbeatSeconds?: number;
}

/** What {@link TaskTokens.issue} needs to know about the waiting Task. */
export interface IssueOptions {
  executionName: string;
  state: string;
  /** Builds the payload the function is invoked with, from the token. */
  payload: (token: string) => unknown;
  /** The Task's timeout; without it, the token lives until answered or its run ends. */
  timeoutSeconds?: number;
  /**
   * The answer fails with `States.Timeout` when the timeout runs out: for a `TimeoutSecondsPath`,
   * which the wrapper enforces itself (with `TimeoutSeconds`, the engine's own Task timer does).
   */
  failOnTimeout?: boolean;
  heartbeatSeconds?: number;
}

/**
 * The task tokens of the local engine: issued when a callback Task starts, answered by
 * {@link TaskTokens.sendTaskSuccess} / {@link TaskTokens.sendTaskFailure}, kept alive by
 * {@link TaskTokens.sendTaskHeartbeat}. Each token is answered at most once.
 *
 * @example
 * const tokens = new TaskTokens();
 * const engine = createLocalEngine(definition, handlers, { taskTokens: tokens });
 * const run = engine.start(input, { onTaskToken: (task) => tokens.sendTaskSuccess(task.token, { approved: true }) });
 */
export class TaskTokens {
  readonly #pending = new Map<string, Entry>();
  readonly #expired = new Set<string>();

  /** Issues a token for a Task and returns it, the Task's payload and the promise its answer settles. */
  issue(options: IssueOptions): { token: string; payload: unknown; answer: Promise<unknown> } {
    const token = `local-${randomBytes(32).toString('base64url')}`;
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const answer = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: Entry = {
      token,
      executionName: options.executionName,
      state: options.state,
      payload: options.payload(token),
      ...(options.timeoutSeconds !== undefined
        ? { expiresAt: Date.now() + options.timeoutSeconds * 1000 }
        : {}),
      resolve,
      reject,
      ...(options.heartbeatSeconds !== undefined ? { heartbeatSeconds: options.heartbeatSeconds } : {}),
    };
    // The engine's Task timer fails the state with States.Timeout; this one only retires the token
    // (it is set first, with the same delay, so it fires first).
    const seconds = options.timeoutSeconds;
    if (seconds !== undefined) {
      entry.timer = setTimeout(() => {
        if (this.#retire(token, true) && options.failOnTimeout)
          entry.reject(new CallbackTimeoutError(seconds));
      }, seconds * 1000);
    }
    this.#pending.set(token, entry);
    this.#armHeartbeat(entry);
    return { token, payload: entry.payload, answer };
  }

  #armHeartbeat(entry: Entry): void {
    const seconds = entry.heartbeatSeconds;
    if (seconds === undefined) return;
    clearTimeout(entry.heartbeat);
    entry.heartbeat = setTimeout(() => {
      if (this.#retire(entry.token, true)) entry.reject(new HeartbeatTimeoutError(seconds));
    }, seconds * 1000);
  }

  /** Removes a token; returns whether it was pending. */
  #retire(token: string, expired: boolean): boolean {
    const entry = this.#pending.get(token);
    if (!entry) return false;
    clearTimeout(entry.timer);
    clearTimeout(entry.heartbeat);
    this.#pending.delete(token);
    if (expired) this.#expired.add(token);
    return true;
  }

  #take(token: string): Entry {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
      throw new InvalidTokenError('not a task token of the local engine');
    }
    if (this.#expired.has(token)) throw new TaskTimedOutError('the task of this token has timed out');
    const entry = this.#pending.get(token);
    if (!entry)
      throw new TaskDoesNotExistError('no task waits for this token (answered already, or never issued)');
    return entry;
  }

  /**
   * Answers a token with success: the Task's result is `output` (a JSON value).
   *
   * @throws InvalidTokenError, TaskDoesNotExistError, TaskTimedOutError, InvalidOutputError
   * @example
   * tokens.sendTaskSuccess(token, { approved: true, by: 'ana' });
   */
  sendTaskSuccess(token: string, output: unknown): void {
    const entry = this.#take(token);
    let value: unknown;
    try {
      value = asJson(output);
    } catch (error) {
      throw new InvalidOutputError(`the output is not JSON: ${(error as Error).message}`);
    }
    this.#retire(token, false);
    entry.resolve(value);
  }

  /**
   * Answers a token with failure: the Task fails with `error` (what `ErrorEquals` matches) and `cause`.
   *
   * @throws InvalidTokenError, TaskDoesNotExistError, TaskTimedOutError, InvalidOutputError
   * @example
   * tokens.sendTaskFailure(token, 'ApprovalRejectedError', 'rejected by ana');
   */
  sendTaskFailure(token: string, error: string, cause = ''): void {
    const entry = this.#take(token);
    if (!error || error.length > MAX_ERROR_LENGTH) {
      throw new InvalidOutputError(`the error must be 1 to ${MAX_ERROR_LENGTH} characters`);
    }
    if (cause.length > MAX_CAUSE_LENGTH) {
      throw new InvalidOutputError(`the cause must be at most ${MAX_CAUSE_LENGTH} characters`);
    }
    this.#retire(token, false);
    entry.reject(new TaskFailureError(error, cause));
  }

  /**
   * Resets the heartbeat clock of a token's Task (its `TimeoutSeconds` still bounds it).
   *
   * @throws InvalidTokenError, TaskDoesNotExistError, TaskTimedOutError
   * @example
   * tokens.sendTaskHeartbeat(token);
   */
  sendTaskHeartbeat(token: string): void {
    this.#armHeartbeat(this.#take(token));
  }

  /** The tasks waiting now, optionally of one run. @example tokens.pending('run-1')[0]?.token */
  pending(executionName?: string): PendingTask[] {
    return [...this.#pending.values()]
      .filter((e) => executionName === undefined || e.executionName === executionName)
      .map(({ token, executionName: name, state, payload, expiresAt }) => ({
        token,
        executionName: name,
        state,
        payload,
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      }));
  }

  /** The Task of a state timed out (the engine saw its `States.Timeout`): its tokens expire. */
  expireState(executionName: string, state: string): void {
    for (const entry of [...this.#pending.values()]) {
      if (entry.executionName === executionName && entry.state === state) this.#retire(entry.token, true);
    }
  }

  /** Forgets a token whose Task failed before waiting (its function threw). */
  forget(token: string): void {
    this.#retire(token, false);
  }

  /** Forgets the tokens of a run that ended (aborted, timed out): answering them then fails. */
  endExecution(executionName: string): void {
    for (const entry of [...this.#pending.values()]) {
      if (entry.executionName === executionName) this.#retire(entry.token, false);
    }
  }
}

/**
 * Replaces the task token placeholder everywhere in a payload.
 *
 * @example
 * withTaskToken({ taskToken: TASK_TOKEN_PLACEHOLDER, run: 'r1' }, 'local-abc') // { taskToken: 'local-abc', run: 'r1' }
 */
export function withTaskToken(payload: unknown, token: string): unknown {
  if (payload === TASK_TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(payload)) return payload.map((item) => withTaskToken(item, token));
  if (typeof payload === 'object' && payload !== null) {
    return Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, withTaskToken(v, token)]));
  }
  return payload;
}

/** Whether a payload template reads `$$.Task.Token` somewhere. */
export function readsTaskToken(template: unknown): boolean {
  if (Array.isArray(template)) return template.some(readsTaskToken);
  if (typeof template !== 'object' || template === null) return false;
  return Object.entries(template).some(([key, value]) =>
    key.endsWith('.$') && typeof value === 'string' ? value === '$$.Task.Token' : readsTaskToken(value),
  );
}
