/**
 * The alerts forwarder: an alert published on the SNS topic, posted to Slack. The topic keeps the
 * alert whatever happens here; a failed post is logged and thrown so that Lambda retries it (and
 * sends it to the dead-letter queue after the last retry).
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import type { Notification, Outcome, WorkflowName } from '../drivers/ports.ts';
import { executionAlert, executionStatusChangeSchema, isExecutionStatusChange } from './execution-event.ts';
import { findHostsOut, type HostsOutDeps, withHostsOut } from './hosts-out.ts';
import { checkWebhookUrl, type PostToSlackOptions, postToSlack, slackMessage } from './slack.ts';

// zod/mini loads no messages by itself: zod's English ones, so that a problem reads the same.
z.config(en());

/** Every outcome a notification may carry: the forwarder posts each of them. */
export const NOTIFICATION_OUTCOMES = [
  'succeeded',
  'failed',
  'rolled-back',
  'rollback-failed',
  'awaiting-approval',
  'skipped',
] as const satisfies readonly Outcome[];
/** Every workflow a notification may come from. */
export const NOTIFICATION_WORKFLOWS = [
  'deploy',
  'backup',
  'health',
  'recover',
  'maintenance',
] as const satisfies readonly WorkflowName[];

/** The JSON of a {@link Notification}, as the SNS notifier publishes it. */
export const notificationSchema = z.object({
  target: z.string().check(z.minLength(1)),
  workflow: z.enum(NOTIFICATION_WORKFLOWS),
  outcome: z.enum(NOTIFICATION_OUTCOMES),
  runId: z.string().check(z.minLength(1)),
  summary: z.string(),
  ref: z.optional(z.string()),
  failedState: z.optional(z.string()),
  error: z.optional(z.string()),
  cause: z.optional(z.string()),
  host: z.optional(z.string()),
  outputTail: z.optional(z.string()),
  executionUrl: z.optional(z.string()),
  actions: z.optional(
    z.array(z.object({ label: z.string().check(z.minLength(1)), url: z.string().check(z.minLength(1)) })),
  ),
  at: z.string(),
}) satisfies z.ZodMiniType<Notification>;

/**
 * Compile-time checks that the schema reads every notification the notifiers may publish: an
 * outcome, a workflow or a field added to {@link Notification} without forwarder support fails `tsc`
 * here (the schema would otherwise send such alerts to the dead-letter queue).
 */
type Unread<T extends keyof Notification> = Exclude<Notification[T], z.input<typeof notificationSchema>[T]>;
const everyOutcomeRead: [Unread<'outcome'>] extends [never] ? true : Unread<'outcome'> = true;
const everyWorkflowRead: [Unread<'workflow'>] extends [never] ? true : Unread<'workflow'> = true;
type UnreadField = Exclude<keyof Notification, keyof z.input<typeof notificationSchema>>;
const everyFieldRead: [UnreadField] extends [never] ? true : UnreadField = true;
void [everyOutcomeRead, everyWorkflowRead, everyFieldRead];

/** An SNS message's JSON text, parsed. */
const jsonMessageSchema = z.pipe(
  z.string(),
  z.transform((text: string, payload): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      payload.issues.push({ code: 'custom', message: 'the SNS message is not JSON', input: text });
      return z.NEVER;
    }
  }),
);

/**
 * The SNS event the forwarder receives: the few fields read, each record's message left as text so
 * that one malformed message can be reported with its id. Our own schema rather than Powertools'
 * `SnsEnvelope`, which imports the whole of zod (`import { z }`) and so puts all of it in the bundle.
 *
 * @example
 * snsEventSchema.parse({ Records: [{ Sns: { MessageId: 'm-1', Message: '{…}' } }] })
 */
export const snsEventSchema = z.object({
  Records: z.array(z.object({ Sns: z.object({ MessageId: z.optional(z.string()), Message: z.string() }) })),
});
export type SnsAlertEvent = z.infer<typeof snsEventSchema>;

/**
 * One record of the event: the notification it carries (a stepops notification, or a Step
 * Functions execution status change turned into one, `fromExecution`), why it is not alerted, or
 * what is wrong.
 */
export type SnsAlert =
  | { messageId: string; notification: Notification; fromExecution?: true }
  | { messageId: string; skipped: string }
  | { messageId: string; problem: string };

function firstProblem(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  return `${path ? `${path}: ` : ''}${issue?.message ?? 'not a stepops notification'}`;
}

/**
 * Reads each record's message as a notification, or as an execution status change event (the
 * EventBridge rule on runs that ended where no Catch could see it); a malformed one is kept with
 * its message id and the first problem (the path and what was expected, never the message itself).
 *
 * @example
 * readSnsAlerts({ Records: [{ Sns: { MessageId: 'm-1', Message: 'hello' } }] })
 * // [{ messageId: 'm-1', problem: 'the SNS message is not JSON' }]
 */
export function readSnsAlerts(event: SnsAlertEvent): SnsAlert[] {
  return event.Records.map((record, index) => {
    const messageId = record.Sns.MessageId ?? `record ${index}`;
    const json = jsonMessageSchema.safeParse(record.Sns.Message);
    if (!json.success) return { messageId, problem: firstProblem(json.error) };
    if (isExecutionStatusChange(json.data)) {
      const change = executionStatusChangeSchema.safeParse(json.data);
      if (!change.success) return { messageId, problem: firstProblem(change.error) };
      const alert = executionAlert(change.data);
      return 'notification' in alert ? { messageId, ...alert, fromExecution: true } : { messageId, ...alert };
    }
    const parsed = notificationSchema.safeParse(json.data);
    if (parsed.success) return { messageId, notification: parsed.data };
    return { messageId, problem: firstProblem(parsed.error) };
  });
}

/**
 * The notification to post for a record: a stepops notification as it came; the alert of a run
 * that ended where no step could act (an execution status change) with the hosts it left out of
 * the load balancer, as the target groups report them now.
 *
 * @example
 * const notification = await notificationToPost(alert, { findTarget, hosts: () => new Ec2HostDirectory(), loadBalancer: () => new ElbLoadBalancer() });
 */
export async function notificationToPost(
  alert: { notification: Notification; fromExecution?: true },
  deps: HostsOutDeps,
): Promise<Notification> {
  if (!alert.fromExecution) return alert.notification;
  return withHostsOut(alert.notification, await findHostsOut(alert.notification, deps));
}

/** SNS delivered messages that are not stepops notifications; thrown so they end in the dead-letter queue. */
export class MalformedAlertError extends Error {
  constructor(messageIds: readonly string[]) {
    super(`${messageIds.length} SNS message(s) are not stepops notifications: ${messageIds.join(', ')}`);
    this.name = 'MalformedAlertError';
  }
}

/** What the forwarder needs from the outside world. */
export interface ForwarderDeps {
  /** The decrypted value of an SSM parameter. */
  parameter(name: string): Promise<string>;
  /** The stage's parameter holding the Slack webhook URL. */
  defaultWebhookParameter: string;
  /** A target's own webhook parameter (`alerts.slackWebhookParameter`), if it declares one. */
  targetWebhookParameter?(target: string): string | undefined;
  logger: {
    info(message: string, ...extra: Record<string, string>[]): void;
    warn(message: string, ...extra: Record<string, string>[]): void;
  };
  post?: PostToSlackOptions;
}

/**
 * SSM's error for a parameter that does not exist (GetParameter API reference: "ParameterNotFound",
 * HTTP 400).
 */
function isParameterNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === 'ParameterNotFound';
}

/**
 * Posts one notification to Slack, with the webhook of its target or the stage's.
 *
 * @example
 * await forwardToSlack(notification, { parameter: (n) => secrets.get(n), defaultWebhookParameter: '/stepops/prod/slack-webhook-url', logger });
 * A target's own parameter that does not exist falls back to the stage's, with a warning.
 *
 * @throws SlackWebhookUrlError when the parameter does not hold an https URL (nothing is posted)
 * @throws SlackPostError when Slack refused the message or could not be reached after the retries
 */
export async function forwardToSlack(notification: Notification, deps: ForwarderDeps): Promise<void> {
  const own = deps.targetWebhookParameter?.(notification.target);
  let parameter = own ?? deps.defaultWebhookParameter;
  let value: string;
  try {
    value = await deps.parameter(parameter);
  } catch (error) {
    // A target's own parameter not created yet must not send every alert to the dead-letter queue.
    if (own === undefined || !isParameterNotFound(error)) throw error;
    deps.logger.warn(
      `Slack webhook parameter ${own} of the target does not exist: posted to the stage's webhook`,
      {
        target: notification.target,
        parameter: own,
      },
    );
    parameter = deps.defaultWebhookParameter;
    value = await deps.parameter(parameter);
  }
  const url = checkWebhookUrl(value, parameter);
  await postToSlack(url, slackMessage(notification), {
    ...deps.post,
    log: (line) => deps.logger.info(line, { target: notification.target, runId: notification.runId }),
  });
}
