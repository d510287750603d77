/**
 * notify-health-failure: alerts that a health run could not check, naming the state that failed and its error.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { fallbackNotifierFor, notifierFor } from '../../shared/drivers/notifier.ts';
import { boundedErrors } from '../../shared/errors.ts';
import { notifyHealthFailureStep } from '../../shared/health/check.ts';
import { notifyHealthFailureInputSchema } from '../../shared/health/contracts.ts';
import { healthDepsWith } from '../../shared/health/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'notify-health-failure' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = healthDepsWith({
  notifier: (target) => notifierFor(target),
  fallbackNotifier: () => fallbackNotifierFor(),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: notifyHealthFailureInputSchema }))
  .handler(async (event) => {
    const result = await notifyHealthFailureStep(event, deps);
    logger.info('health run failed', {
      target: event.target,
      failedState: event.failedState,
      error: event.error.Error,
    });
    return result;
  });
