/**
 * acquire-lock: Takes the target's lease for the run; fails with TargetLockedError when another run holds it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { acquireLockInputSchema, lockSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { acquireLockStep } from '../../shared/deploy/steps/acquire-lock.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'acquire-lock' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({ leases: (target) => leaseStoreFor(target) });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: acquireLockInputSchema }))
  .handler(async (event) => {
    const result = await acquireLockStep(event, deps);
    logger.info('lock acquired', { key: result.key, owner: result.owner, expiresAt: result.expiresAt });
    return lockSchema.parse(result);
  });
