/**
 * The alerts forwarder: an alert published on the SNS topic, posted to Slack. The topic keeps the
 * alert whatever happens here; a failed post is logged and thrown so that Lambda retries it (and
 * sends it to the dead-letter queue after the last retry).
 */
import * as z from 'zod';
import type { Notification } from '../drivers/ports.ts';
import { type PostToSlackOptions, postToSlack, slackMessage } from './slack.ts';

/** The JSON of a {@link Notification}, as the SNS notifier publishes it. */
export const notificationSchema = z.object({
  target: z.string().min(1),
  workflow: z.enum(['deploy', 'backup', 'health', 'recover']),
  outcome: z.enum(['succeeded', 'failed', 'rolled-back', 'rollback-failed']),
  runId: z.string().min(1),
  summary: z.string(),
  ref: z.string().optional(),
  failedState: z.string().optional(),
  error: z.string().optional(),
  cause: z.string().optional(),
  host: z.string().optional(),
  outputTail: z.string().optional(),
  executionUrl: z.string().optional(),
  at: z.string(),
}) satisfies z.ZodType<Notification>;

/** An SNS message holding a notification: its JSON text, parsed, then checked. */
const notificationMessageSchema = z
  .string()
  .transform((text, context): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      context.addIssue({ code: 'custom', message: 'the SNS message is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(notificationSchema);

/**
 * The SNS event the forwarder receives, to the notifications its records carry. Our own schema of
 * the few fields read rather than Powertools' `SnsEnvelope` and `JSONStringified`, which import the
 * whole of zod (`import { z }`) and so put all of it in the bundle.
 *
 * @example
 * snsNotificationsSchema.parse({ Records: [{ Sns: { Message: JSON.stringify(notification) } }] }) // [notification]
 */
export const snsNotificationsSchema = z
  .object({
    Records: z.array(z.object({ Sns: z.object({ Message: notificationMessageSchema }) })),
  })
  .transform((event) => event.Records.map((record) => record.Sns.Message));

/** What the forwarder needs from the outside world. */
export interface ForwarderDeps {
  /** The decrypted value of an SSM parameter. */
  parameter(name: string): Promise<string>;
  /** The stage's parameter holding the Slack webhook URL. */
  defaultWebhookParameter: string;
  /** A target's own webhook parameter (`alerts.slackWebhookParameter`), if it declares one. */
  targetWebhookParameter?(target: string): string | undefined;
  logger: { info(message: string, ...extra: Record<string, string>[]): void };
  post?: PostToSlackOptions;
}

/**
 * Posts one notification to Slack, with the webhook of its target or the stage's.
 *
 * @example
 * await forwardToSlack(notification, { parameter: (n) => secrets.get(n), defaultWebhookParameter: '/stepops/prod/slack-webhook-url', logger });
 * @throws SlackPostError when Slack refused the message or could not be reached after the retries
 */
export async function forwardToSlack(notification: Notification, deps: ForwarderDeps): Promise<void> {
  const parameter = deps.targetWebhookParameter?.(notification.target) ?? deps.defaultWebhookParameter;
  const url = await deps.parameter(parameter);
  await postToSlack(url, slackMessage(notification), {
    ...deps.post,
    log: (line) => deps.logger.info(line, { target: notification.target, runId: notification.runId }),
  });
}
