/**
 * publish-status-page: renders the public status page from every target's health state and
 * publishes it (the stage's bucket, or the local file), when check-target decided to.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { findTarget, listTargets } from '../../shared/config/registry.ts';
import { pageTargets, publishStatusInputSchema, publishStatusStep } from '../../shared/console/publish.ts';
import type { HealthStateView } from '../../shared/console/transitions.ts';
import { healthStoreFor } from '../../shared/drivers/health.ts';
import { statusPageSetup } from '../../shared/drivers/status-page.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'publish-status-page' } });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: publishStatusInputSchema }))
  .handler(async (event) => {
    // Read per invocation: the local engine's tests point STEPOPS_HOME elsewhere between runs.
    const setup = statusPageSetup();
    try {
      const result = await publishStatusStep(event, {
        targets: () => pageTargets(listTargets(), findTarget, event.target),
        readState: async (target) => {
          const record = await healthStoreFor(target).read(target.name);
          return record ? (JSON.parse(record.body) as HealthStateView) : undefined;
        },
        alerts: setup.alerts,
        publish: (html) => setup.publisher.publish(html),
        title: setup.title,
        now: Date.now,
      });
      logger.info('status page published', { ...result, runId: event.runId });
      return result;
    } catch (error) {
      logger.error('status page not published', { runId: event.runId, error: error as Error });
      throw error;
    }
  });
