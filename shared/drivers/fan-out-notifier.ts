/**
 * Sends each notification to a primary notifier (SNS, or the local outbox) and to secondary ones
 * (Slack). A secondary failure is reported and swallowed: it must never hide the primary alert.
 * Whatever a notifier rejects with (an `Error`, `undefined`, a string, a null-prototype object) is
 * reported as a readable reason and, from the primary, thrown as an `Error`.
 */
import type { Notification, Notifier } from './ports.ts';

/** Publishing a notification failed with something that is not an `Error`; the message says what it was. */
export class NotificationFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotificationFailedError';
  }
}

/**
 * A readable reason for any rejection value, never throwing itself (a null-prototype object has no
 * `toString`, so `String(value)` would throw).
 *
 * @example
 * rejectionReason(new Error('rate exceeded')) // 'rate exceeded'
 * rejectionReason(undefined) // 'rejected without a reason (undefined)'
 * rejectionReason(Object.assign(Object.create(null), { code: 503 })) // 'rejected with {"code":503}'
 */
export function rejectionReason(value: unknown): string {
  if (value instanceof Error) return value.message || value.name || 'Error';
  if (value === undefined) return 'rejected without a reason (undefined)';
  if (value === null) return 'rejected with null';
  if (typeof value === 'string') return value.trim() ? value.slice(0, 1000) : 'rejected with an empty string';
  if (typeof value === 'object') {
    const message = (value as { message?: unknown }).message;
    if (typeof message === 'string' && message.trim()) return message.slice(0, 1000);
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      json = undefined;
    }
    if (json && json !== '{}') return `rejected with ${json.slice(0, 1000)}`;
    const kind = Object.getPrototypeOf(value) === null ? 'an object without prototype' : 'an empty object';
    return `rejected with ${kind}`;
  }
  return `rejected with ${typeof value} ${String(value)}`;
}

/**
 * The value itself when it is an `Error`, else a {@link NotificationFailedError} with its reason:
 * what a caller can always throw, and what a Lambda can always report.
 *
 * @example
 * throw asNotificationError(reason);
 */
export function asNotificationError(value: unknown): Error {
  return value instanceof Error ? value : new NotificationFailedError(`notifier ${rejectionReason(value)}`);
}

export interface FanOutNotifierOptions {
  /** Receives secondary failures; a line on stderr by default. Never given the webhook URL. */
  onSecondaryError?: (error: unknown, notification: Notification) => void;
}

/**
 * @example
 * const notifier = new FanOutNotifier(new SnsNotifier(topicArn), [new SlackNotifier('/stepops/slack')]);
 * await notifier.publish(notification); // throws only if SNS failed
 */
export class FanOutNotifier implements Notifier {
  readonly #primary: Notifier;
  readonly #secondaries: Notifier[];
  readonly #onError: (error: unknown, notification: Notification) => void;

  constructor(primary: Notifier, secondaries: Notifier[] = [], options: FanOutNotifierOptions = {}) {
    this.#primary = primary;
    this.#secondaries = secondaries;
    this.#onError =
      options.onSecondaryError ??
      ((error, n) =>
        process.stderr.write(
          `stepops: a secondary notifier failed for ${n.workflow} ${n.target} (${n.runId}): ${rejectionReason(error)}\n`,
        ));
  }

  async publish(notification: Notification): Promise<void> {
    // `async` wrappers: a notifier that throws synchronously is a rejection like any other.
    const [primary, ...secondaries] = await Promise.allSettled([
      (async () => this.#primary.publish(notification))(),
      ...this.#secondaries.map(async (notifier) => notifier.publish(notification)),
    ]);
    for (const result of secondaries) {
      if (result.status !== 'rejected') continue;
      try {
        this.#onError(result.reason, notification);
      } catch {
        // A failing reporter must not hide the primary's outcome.
      }
    }
    if (primary?.status === 'rejected') throw asNotificationError(primary.reason);
  }
}
