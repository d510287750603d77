/**
 * plan-rollback: Reads why the batches stopped and lists every host already touched, to roll back.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { planRollbackInputSchema, rollbackPlanSchema } from '../../shared/deploy/contracts.ts';
import { planRollbackStep } from '../../shared/deploy/steps/plan-rollback.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'plan-rollback' } });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: planRollbackInputSchema }))
  .handler(async (event) => {
    const result = planRollbackStep(event);
    logger.info('rollback planned', {
      hosts: result.hosts.map((h) => h.id),
      failedState: result.failure.state,
      error: result.failure.error,
    });
    return rollbackPlanSchema.parse(result);
  });
