/**
 * resolve-hosts: Finds the target's hosts that can take commands now and splits them into batches; NoHostsError when none.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { resolvedHostsSchema, resolveHostsInputSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { resolveHostsStep } from '../../shared/deploy/steps/resolve-hosts.ts';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'resolve-hosts' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({ hosts: (target) => hostDirectoryFor(target) });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: resolveHostsInputSchema }))
  .handler(async (event) => {
    const result = await resolveHostsStep(event, deps);
    logger.info('hosts resolved', { hosts: result.hosts.map((h) => h.id), batches: result.batchCount });
    return resolvedHostsSchema.parse(result);
  });
