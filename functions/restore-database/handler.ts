/**
 * restore-database: Restores an RDS snapshot to a new instance, waits until it is available, and swaps the names when the runbook declares it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { RdsRestorer } from '../../shared/drivers/aws/rds-restorer.ts';
import { progressSchema, stepInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { restoreDatabaseStep } from '../../shared/recovery/steps/restore-database.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'restore-database' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  databases: () => new RdsRestorer(),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: stepInputSchema }))
  .handler(async (event, context) => {
    const result = progressSchema.parse(
      await restoreDatabaseStep(event, deps, () => context.getRemainingTimeInMillis()),
    );
    logger.info('step progress', { step: event.step.name, status: result.status, phase: result.phase });
    return result;
  });
