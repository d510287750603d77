/**
 * notify-maintenance: Publishes how a maintenance run ended (a failure is an alert; a skipped run says why) and returns the outcome the workflow ends with.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { fallbackNotifierFor, notifierFor } from '../../shared/drivers/notifier.ts';
import {
  maintenanceOutcomeSchema,
  notifyMaintenanceInputSchema,
} from '../../shared/maintenance/contracts.ts';
import { notifyMaintenanceStep } from '../../shared/maintenance/run.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'notify-maintenance' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  notifier: (target) => notifierFor(target),
  fallbackNotifier: () => fallbackNotifierFor(),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: notifyMaintenanceInputSchema }))
  .handler(async (event) => {
    const result = maintenanceOutcomeSchema.parse(await notifyMaintenanceStep(event, deps));
    logger.info('run outcome', {
      outcome: result.outcome,
      error: result.error,
      failedState: result.failedState,
    });
    return result;
  });
