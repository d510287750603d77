/**
 * release-lock: Releases the target's lease if this run still holds it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { releaseLockInputSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { releaseLockStep } from '../../shared/deploy/steps/release-lock.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'release-lock' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({ leases: (target) => leaseStoreFor(target) });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: releaseLockInputSchema }))
  .handler(async (event) => {
    const result = await releaseLockStep(event, deps);
    logger.info('lock released');
    return result;
  });
