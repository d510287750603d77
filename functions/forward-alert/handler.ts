/**
 * Subscribed to the alerts topic: posts each alert to Slack. Wiring only; the logic is
 * `forwardToSlack` in `shared/alerts/forward.ts`, and the alert of a run that ended where no step
 * could act names the hosts it left out of the load balancer (`shared/alerts/hosts-out.ts`). A
 * failed post is logged and rethrown so that Lambda's asynchronous retries (then the dead-letter
 * queue) take it again; a message that is not a stepops notification is logged with its SNS message
 * id, then thrown to the dead-letter queue too.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  forwardToSlack,
  MalformedAlertError,
  notificationToPost,
  readSnsAlerts,
  type SnsAlertEvent,
  snsEventSchema,
} from '../../shared/alerts/forward.ts';
import { linked } from '../../shared/api/resources.ts';
import { ParameterCache } from '../../shared/api/secrets.ts';
import { findTarget } from '../../shared/config/registry.ts';
import { Ec2HostDirectory } from '../../shared/drivers/aws/ec2-host-directory.ts';
import { ElbLoadBalancer } from '../../shared/drivers/aws/elb-load-balancer.ts';

const logger = new Logger({ serviceName: 'stepops-alerts' });
const secrets = new ParameterCache(new SSMClient({}));
/** Where the alert of a run that ended early looks for the hosts it left out of the load balancer. */
const hostDirectory = new Ec2HostDirectory();
const loadBalancer = new ElbLoadBalancer();
const hostsOut = { findTarget, hosts: () => hostDirectory, loadBalancer: () => loadBalancer };
/** Milliseconds kept in hand at the end of the invocation, to log and return before Lambda stops it. */
const END_MARGIN_MS = 3000;

function targetWebhookParameter(target: string): string | undefined {
  try {
    return findTarget(target).alerts.slackWebhookParameter;
  } catch {
    return undefined; // An alert about a target this bundle does not know goes to the stage's channel.
  }
}

export const handler = middy<SnsAlertEvent, void, Error, Context>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .use(parser({ schema: snsEventSchema }))
  .handler(async (event, context) => {
    const deadline = Date.now() + context.getRemainingTimeInMillis() - END_MARGIN_MS;
    const malformed: string[] = [];
    for (const alert of readSnsAlerts(event)) {
      if ('problem' in alert) {
        logger.error('malformed alert: not a stepops notification', {
          messageId: alert.messageId,
          problem: alert.problem,
        });
        malformed.push(alert.messageId);
        continue;
      }
      if ('skipped' in alert) {
        logger.info('not posted: already alerted, or not alerted', {
          messageId: alert.messageId,
          reason: alert.skipped,
        });
        continue;
      }
      const notification = await notificationToPost(alert, hostsOut);
      const about = {
        messageId: alert.messageId,
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
          post: { deadline },
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
    if (malformed.length > 0) throw new MalformedAlertError(malformed);
  });
