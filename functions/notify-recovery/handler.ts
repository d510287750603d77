/**
 * notify-recovery: Publishes how a recovery run ended (SNS, or the local outbox; Slack where configured) and returns the outcome the workflow ends with.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { fallbackNotifierFor, notifierFor } from '../../shared/drivers/notifier.ts';
import { notifyRecoveryInputSchema, recoveryOutcomeSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { notifyRecoveryStep } from '../../shared/recovery/finish.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'notify-recovery' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  notifier: (target) => notifierFor(target),
  fallbackNotifier: () => fallbackNotifierFor(),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: notifyRecoveryInputSchema }))
  .handler(async (event) => {
    const result = recoveryOutcomeSchema.parse(await notifyRecoveryStep(event, deps));
    logger.info('run outcome', {
      outcome: result.outcome,
      error: result.error,
      failedState: result.failedState,
    });
    return result;
  });
