/**
 * record-health: folds a round into the target's probe states (conditional write), alerts on transitions and starts the recovery runbook.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { healthStoreFor, leaseReaderFor, recoveryStarterFor } from '../../shared/drivers/health.ts';
import { notifierFor } from '../../shared/drivers/notifier.ts';
import { boundedErrors } from '../../shared/errors.ts';
import { recordHealthStep } from '../../shared/health/check.ts';
import { healthRunSummarySchema, recordHealthInputSchema } from '../../shared/health/contracts.ts';
import { healthDepsWith } from '../../shared/health/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'record-health' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = healthDepsWith({
  store: (target) => healthStoreFor(target),
  leases: (target) => leaseReaderFor(target),
  recoveries: (target) => recoveryStarterFor(target),
  notifier: (target) => notifierFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: recordHealthInputSchema }))
  .handler(async (event) => {
    const summary = await recordHealthStep(event, deps);
    logger.info('recorded', {
      target: summary.target,
      up: summary.up,
      down: summary.down,
      transitions: summary.events.length,
      recovery: summary.recovery?.started,
    });
    return healthRunSummarySchema.parse(summary);
  });
