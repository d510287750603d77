/**
 * Which Lambda invocation the code running now belongs to: the engine runs every handler call
 * inside one, so that anything the handler does (an SDK call, a log line) can be attributed to
 * its function, as AWS attributes it to that function's role.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** One handler call of the local engine. */
export interface Invocation {
  /** The function's name: the `functions/<name>` folder. */
  functionName: string;
  /** The Task state that invoked it, when the engine did. */
  state?: string;
  executionName?: string;
}

const scope = new AsyncLocalStorage<Invocation>();

/**
 * Runs `call` as part of `invocation`: {@link currentInvocation} answers it there, and in every
 * asynchronous continuation of it.
 *
 * @example
 * await withinInvocation({ functionName: 'prune-backups' }, () => handler(event, context));
 */
export function withinInvocation<T>(invocation: Invocation, call: () => T): T {
  return scope.run(invocation, call);
}

/**
 * The invocation the caller runs in; `undefined` outside any handler call.
 *
 * @example
 * currentInvocation()?.functionName // 'prune-backups'
 */
export function currentInvocation(): Invocation | undefined {
  return scope.getStore();
}
