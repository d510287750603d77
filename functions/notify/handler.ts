/**
 * notify: Publishes how the run ended (SNS, or the local outbox; Slack where configured) and returns the outcome the workflow ends with.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { notifyInputSchema, runOutcomeSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { notifyStep } from '../../shared/deploy/steps.ts';
import { fallbackNotifierFor, notifierFor } from '../../shared/drivers/notifier.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'notify' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({
  notifier: (target) => notifierFor(target),
  fallbackNotifier: () => fallbackNotifierFor(),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: notifyInputSchema }))
  .handler(async (event) => {
    const result = await notifyStep(event, deps);
    logger.info('run outcome', {
      outcome: result.outcome,
      error: result.error,
      failedState: result.failedState,
    });
    return runOutcomeSchema.parse(result);
  });
