/**
 * SNS notifier: publishes each notification to the alerts topic.
 *
 * IAM: `sns:Publish` on the topic.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notification, Notifier } from '../ports.ts';
import { regionOfArn } from './regions.ts';
import { snsClient } from './sns-client.ts';

/**
 * An SNS subject for a notification: printable ASCII, one line, at most 100 characters.
 *
 * @example
 * snsSubject(n) // 'stepops deploy datizmo: rolled-back'
 */
export function snsSubject(notification: Notification): string {
  const subject = `stepops ${notification.workflow} ${notification.target}: ${notification.outcome}`;
  const ascii = subject.replace(/[^\x20-\x7e]/g, '?').trim();
  return ascii.slice(0, 100);
}

export interface SnsNotifierOptions {
  client?: SNSClient;
}

/**
 * Publishes notifications to an SNS topic: the subject names workflow, target and outcome, the
 * message is the notification as JSON, and the attributes `target`, `workflow` and `outcome` let
 * subscriptions filter.
 *
 * @example
 * await new SnsNotifier('arn:aws:sns:eu-west-1:123456789012:stepops-alerts').publish(notification);
 */
export class SnsNotifier implements Notifier {
  readonly #topicArn: string;
  readonly #client: SNSClient;

  constructor(topicArn: string, options: SnsNotifierOptions = {}) {
    this.#topicArn = topicArn;
    this.#client = options.client ?? snsClient(regionOfArn(topicArn));
  }

  async publish(notification: Notification): Promise<void> {
    await this.#client.send(
      new PublishCommand({
        TopicArn: this.#topicArn,
        Subject: snsSubject(notification),
        Message: JSON.stringify(notification),
        MessageAttributes: {
          target: { DataType: 'String', StringValue: notification.target },
          workflow: { DataType: 'String', StringValue: notification.workflow },
          outcome: { DataType: 'String', StringValue: notification.outcome },
        },
      }),
    );
  }
}
