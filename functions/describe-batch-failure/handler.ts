/**
 * describe-batch-failure: Turns the failure records of a failed batch into the error and JSON cause its Map iteration fails with (batch index, state, host, output tail).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { batchFailedSchema, describeBatchFailureInputSchema } from '../../shared/deploy/contracts.ts';
import { describeBatchFailureStep } from '../../shared/deploy/steps/describe-batch-failure.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'describe-batch-failure' } });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: describeBatchFailureInputSchema }))
  .handler(async (event) => {
    const result = describeBatchFailureStep(event);
    logger.info('batch failed', { batch: event.batch.index, error: result.error });
    return batchFailedSchema.parse(result);
  });
