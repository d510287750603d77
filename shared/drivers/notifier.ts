/**
 * The notifier of a target: SNS when a topic is in use (the target's or the stack's), else the
 * outbox. A Slack notifier joins the fan-out when the target names a webhook parameter and no topic
 * (whose forwarder posts to Slack) is in use.
 */
import type { Target } from '../config/schema.ts';
import { defaultRegion, regionOfArn } from './aws/regions.ts';
import { SnsNotifier } from './aws/sns-notifier.ts';
import { FanOutNotifier } from './fan-out-notifier.ts';
import { LazyNotifier } from './lazy.ts';
import { OutboxNotifier } from './local/outbox-notifier.ts';
import { alertsTopicArn, type DriversOptions, hostsRegion, resolvedNames } from './options.ts';
import type { Notifier } from './ports.ts';

/**
 * Chooses the notifier for a target.
 *
 * @example
 * await notifierFor(target, { stream: null }).notify(notification);
 */
export function notifierFor(target: Target, options: DriversOptions = {}): Notifier {
  const region = hostsRegion(target);
  const topicArn = alertsTopicArn(target, resolvedNames(options).alertsTopicArn);
  const primary: Notifier = topicArn
    ? new SnsNotifier(topicArn)
    : new OutboxNotifier(options.stream === undefined ? {} : { stream: options.stream });
  const secondaries: Notifier[] = [];
  const slackParameter = target.alerts.slackWebhookParameter;
  // With a topic, the SNS→Slack forwarder posts the alert; posting here too would post it twice.
  const directSlack = options.slack ?? !topicArn;
  if (slackParameter && directSlack) {
    const slackRegion = (topicArn && regionOfArn(topicArn)) || defaultRegion() || region;
    // Loaded on the first notification (dynamic import): the SSM client that reads the webhook
    // parameter is not evaluated at the cold start of a function that may notify.
    secondaries.push(
      new LazyNotifier(async () => {
        const { SlackNotifier } = await import('./aws/slack-notifier.ts');
        return new SlackNotifier(slackParameter, slackRegion ? { region: slackRegion } : {});
      }),
    );
  }
  if (secondaries.length === 0) return primary;
  return new FanOutNotifier(
    primary,
    secondaries,
    options.onNotifierError ? { onSecondaryError: options.onNotifierError } : {},
  );
}

/**
 * Where a notification goes when its target is unknown (bad input): the stack topic or the outbox.
 *
 * @example
 * await fallbackNotifierFor().notify(notification);
 */
export function fallbackNotifierFor(options: DriversOptions = {}): Notifier {
  const topic = resolvedNames(options).alertsTopicArn;
  return topic ? new SnsNotifier(topic) : new OutboxNotifier();
}
