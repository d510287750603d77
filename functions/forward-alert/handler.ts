/**
 * Subscribed to the alerts topic: posts each alert to Slack. Wiring only; the logic is
 * `forwardToSlack` in `shared/alerts/forward.ts`. A failed post is logged and rethrown so that
 * Lambda's asynchronous retries (then the dead-letter queue) take it again.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type * as z from 'zod';
import {
  forwardToSlack,
  type notificationSchema,
  snsNotificationsSchema,
} from '../../shared/alerts/forward.ts';
import { linked } from '../../shared/api/resources.ts';
import { ParameterCache } from '../../shared/api/secrets.ts';
import { findTarget } from '../../shared/config/registry.ts';

const logger = new Logger({ serviceName: 'stepops-alerts' });
const secrets = new ParameterCache(new SSMClient({}));

function targetWebhookParameter(target: string): string | undefined {
  try {
    return findTarget(target).alerts.slackWebhookParameter;
  } catch {
    return undefined; // An alert about a target this bundle does not know goes to the stage's channel.
  }
}

export const handler = middy()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(parser({ schema: snsNotificationsSchema }))
  .handler(async (notifications: z.infer<typeof notificationSchema>[]) => {
    for (const notification of notifications) {
      const about = {
        target: notification.target,
        workflow: notification.workflow,
        outcome: notification.outcome,
        runId: notification.runId,
      };
      try {
        await forwardToSlack(notification, {
          parameter: (name) => secrets.get(name),
          defaultWebhookParameter: linked('SlackWebhook').parameter,
          targetWebhookParameter,
          logger,
        });
        logger.info('alert posted to Slack', about);
      } catch (error) {
        // SlackPostError messages never contain the URL; SSM errors name the parameter, not its value.
        logger.error('alert not posted to Slack', {
          ...about,
          error: { name: (error as Error).name, message: (error as Error).message },
        });
        throw error;
      }
    }
  });
