/**
 * AWS Step Functions' state payload limit, enforced by the local engine so that tests see what AWS
 * would do: a state input or output, or a Task's result, larger than 256 KiB (as a UTF-8 JSON
 * string) fails the whole run with `States.DataLimitExceeded`, which no `Retry` or `Catch` handles.
 */

/** The most a state's input or output may weigh, in bytes of UTF-8 JSON. */
export const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** The error name AWS fails a run with when a payload is over the limit. */
export const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';

/**
 * A payload over {@link STATE_PAYLOAD_LIMIT_BYTES}. Neither retried nor caught, as on AWS (the
 * library reads `isRetryable` and `isCatchable`).
 */
export class DataLimitExceededError extends Error {
  readonly bytes: number;

  constructor(what: string, bytes: number) {
    super(`${what} is ${bytes} bytes, over the ${STATE_PAYLOAD_LIMIT_BYTES}-byte limit of a state's payload`);
    this.name = DATA_LIMIT_EXCEEDED;
    this.bytes = bytes;
  }
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

/**
 * Bytes of a value as Step Functions measures it: its JSON text in UTF-8.
 *
 * @example
 * payloadBytes({ a: 'é' }) // 10
 */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

/**
 * Throws {@link DataLimitExceededError} when `value` is over the limit.
 *
 * @example
 * checkPayload(output, 'the output of state "PlanDeploy"');
 */
export function checkPayload(value: unknown, what: string): void {
  const bytes = payloadBytes(value);
  if (bytes > STATE_PAYLOAD_LIMIT_BYTES) throw new DataLimitExceededError(what, bytes);
}

/**
 * Watches the payloads of one run: the first one over the limit is kept, and every later Task is
 * refused, as AWS stops the run there.
 *
 * @example
 * const watch = new PayloadWatch();
 * watch.observe(event.state.input, `the input of state "${event.state.name}"`); // true when over
 */
export class PayloadWatch {
  #exceeded: DataLimitExceededError | undefined;

  /** The first payload over the limit, if any. */
  get exceeded(): DataLimitExceededError | undefined {
    return this.#exceeded;
  }

  /** Records `value` if it is over the limit (and nothing was before); true when it is. */
  observe(value: unknown, what: string): boolean {
    if (this.#exceeded) return false;
    try {
      checkPayload(value, what);
      return false;
    } catch (error) {
      this.#exceeded = error as DataLimitExceededError;
      return true;
    }
  }

  /** Throws the recorded error, so that no Task runs after the limit was exceeded. */
  assertWithin(): void {
    if (this.#exceeded) throw this.#exceeded;
  }
}
