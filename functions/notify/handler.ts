/**
 * notify: Releases the run's lease (if it still holds it), publishes how the run ended (SNS, or the local outbox; Slack where configured) and returns the outcome the workflow ends with.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { notifyInputSchema, runOutcomeSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { releaseAndNotifyStep } from '../../shared/deploy/steps/notify.ts';
import { asNotificationError } from '../../shared/drivers/fan-out-notifier.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { fallbackNotifierFor, notifierFor } from '../../shared/drivers/notifier.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'notify' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({
  leases: (target) => leaseStoreFor(target),
  notifier: (target) => notifierFor(target),
  fallbackNotifier: () => fallbackNotifierFor(),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: notifyInputSchema }))
  .handler(async (event) => {
    // A notifier that rejects with `undefined`, a string or a null-prototype object still ends the
    // state with a named error and a readable cause (the workflow's NotifyFailed reads the cause).
    const result = await releaseAndNotifyStep(event, deps).catch((error: unknown) => {
      throw asNotificationError(error);
    });
    logger.info('run outcome', {
      outcome: result.outcome,
      error: result.error,
      failedState: result.failedState,
    });
    return runOutcomeSchema.parse(result);
  });
