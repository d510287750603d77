/**
 * Readable reasons for whatever a driver or a probe rejects with. JavaScript lets a promise reject
 * with any value (`undefined`, a string, an object without a prototype); a probe that does so is a
 * failed probe with a reason an operator can read, never a crash of the state that ran it.
 */

/** Longest reason kept from a rejection value. */
export const REASON_LIMIT = 500;

function clip(text: string): string {
  return text.length > REASON_LIMIT ? `${text.slice(0, REASON_LIMIT - 1)}…` : text;
}

function describeObject(value: object): string {
  try {
    const json = JSON.stringify(value);
    if (json !== undefined && json !== '{}') return json;
  } catch {
    // A cycle or a BigInt: fall back to the keys.
  }
  const keys = Object.keys(value);
  return keys.length > 0 ? `an object with ${keys.join(', ')}` : 'an empty object';
}

/**
 * Says what a rejection value is, in words, whatever it is: an `Error`'s message (its name when it
 * has none), a string as it is, `undefined` and `null` named as such, any other object as JSON.
 * Never throws (`String(Object.create(null))` does).
 *
 * @example
 * rejectionReason(new Error('socket hang up')) // 'socket hang up'
 * rejectionReason(undefined) // 'rejected without a reason (undefined)'
 * rejectionReason(Object.assign(Object.create(null), { code: 'E1' })) // '{"code":"E1"}'
 */
export function rejectionReason(value: unknown): string {
  if (value instanceof Error) {
    const message = typeof value.message === 'string' ? value.message.trim() : '';
    return clip(message || value.name || 'an error without a message');
  }
  switch (typeof value) {
    case 'undefined':
      return 'rejected without a reason (undefined)';
    case 'string':
      return clip(value.trim() || 'rejected with an empty string');
    case 'number':
    case 'boolean':
    case 'bigint':
      return `rejected with ${String(value)}`;
    case 'symbol':
      return `rejected with ${value.description ? `symbol ${value.description}` : 'a symbol'}`;
    case 'function':
      return 'rejected with a function';
    default:
      break;
  }
  if (value === null) return 'rejected without a reason (null)';
  const message = (value as { message?: unknown }).message;
  if (typeof message === 'string' && message.trim()) return clip(message.trim());
  return clip(`rejected with ${describeObject(value as object)}`);
}

/**
 * The `name` of a rejection value when it has one (an AWS SDK error's `InvalidInstanceID.Malformed`),
 * without touching anything else of it.
 *
 * @example
 * rejectionName(Object.assign(new Error('x'), { name: 'ThrottlingException' })) // 'ThrottlingException'
 * rejectionName(undefined) // undefined
 */
export function rejectionName(value: unknown): string | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  const name = (value as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Describes a network failure the way an operator says it (`connection refused`, `host not found`).
 *
 * @example
 * networkFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })) // 'connection refused'
 */
export function networkFailure(error: unknown): string {
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case undefined:
      return `request failed: ${rejectionReason(error)}`;
    default:
      if (/CERT|SSL|TLS|SELF_SIGNED/i.test(code)) return `TLS error: ${code}`;
      return `request failed: ${code}`;
  }
}
