/**
 * Sends each notification to a primary notifier (SNS, or the local outbox) and to secondary ones
 * (Slack). A secondary failure is reported and swallowed: it must never hide the primary alert.
 */
import type { Notification, Notifier } from './ports.ts';

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
          `stepops: a secondary notifier failed for ${n.workflow} ${n.target} (${n.runId}): ${(error as Error).message ?? String(error)}\n`,
        ));
  }

  async publish(notification: Notification): Promise<void> {
    const [primary, ...secondaries] = await Promise.allSettled([
      this.#primary.publish(notification),
      ...this.#secondaries.map((notifier) => notifier.publish(notification)),
    ]);
    for (const result of secondaries) {
      if (result.status === 'rejected') this.#onError(result.reason, notification);
    }
    if (primary?.status === 'rejected') throw primary.reason;
  }
}
