/**
 * Slack notifier: posts a Block Kit message to the webhook whose URL is kept in an SSM SecureString
 * parameter. The URL is read once per container and never logged.
 *
 * IAM: `ssm:GetParameter` on the parameter, `kms:Decrypt` on its key (the AWS-managed `aws/ssm`
 * key needs no extra grant).
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { checkWebhookUrl, type PostToSlackOptions, postToSlack, slackMessage } from '../../alerts/slack.ts';
import type { Notification, Notifier } from '../ports.ts';
import { ssmClient } from './ssm-client.ts';

const webhookCache = new Map<string, Promise<string>>();

/**
 * Forgets cached webhook URLs (tests, or after rotating the parameter).
 *
 * @example
 * clearSlackWebhookCache();
 */
export function clearSlackWebhookCache(): void {
  webhookCache.clear();
}

/**
 * Reads the webhook URL from a SecureString parameter, once per container and parameter.
 *
 * @example
 * const url = await slackWebhookUrl(ssmClient('eu-west-1'), '/stepops/slack-webhook');
 * @throws Error naming the parameter (never its value) when it cannot be read or is not a URL
 */
export function slackWebhookUrl(client: SSMClient, parameterName: string): Promise<string> {
  const key = `${String(client.config.region)}|${parameterName}`;
  let url = webhookCache.get(key);
  if (!url) {
    url = (async () => {
      let value: string | undefined;
      try {
        const output = await client.send(
          new GetParameterCommand({ Name: parameterName, WithDecryption: true }),
        );
        value = output.Parameter?.Value;
      } catch (error) {
        throw new Error(
          `cannot read the Slack webhook parameter ${parameterName}: ${(error as Error).name ?? 'error'}`,
        );
      }
      return checkWebhookUrl(value, parameterName);
    })();
    webhookCache.set(key, url);
    // A failed read is not cached: the next notification tries again.
    url.catch(() => webhookCache.delete(key));
  }
  return url;
}

export interface SlackNotifierOptions extends Omit<PostToSlackOptions, 'log'> {
  client?: SSMClient;
  /** Region of the parameter when no client is given; the process's region by default. */
  region?: string;
  log?: (message: string) => void;
}

/**
 * Posts each notification to Slack as a Block Kit message.
 *
 * @example
 * const slack = new SlackNotifier('/stepops/slack-webhook', { attempts: 3 });
 * await slack.publish(notification);
 */
export class SlackNotifier implements Notifier {
  readonly #parameterName: string;
  readonly #options: SlackNotifierOptions;

  constructor(parameterName: string, options: SlackNotifierOptions = {}) {
    this.#parameterName = parameterName;
    this.#options = options;
  }

  async publish(notification: Notification): Promise<void> {
    const client = this.#options.client ?? ssmClient(this.#options.region);
    const url = await slackWebhookUrl(client, this.#parameterName);
    const { client: _client, region: _region, ...postOptions } = this.#options;
    await postToSlack(url, slackMessage(notification), postOptions);
  }
}
