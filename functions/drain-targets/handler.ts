/**
 * drain-targets: Takes a batch's hosts out of the target's load balancer target groups and long-polls (up to 50 s) until their connections have drained.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { targetsInputSchema, targetsWaitSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { drainTargetsStep } from '../../shared/deploy/load-balancer.ts';
import { loadBalancerFor } from '../../shared/drivers/load-balancers.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'drain-targets' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({ loadBalancer: (target) => loadBalancerFor(target) });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: targetsInputSchema }))
  .handler(async (event, context) => {
    const result = await drainTargetsStep(event, deps, () => context.getRemainingTimeInMillis());
    logger.info('targets drained', {
      hosts: event.hosts.map((h) => h.id),
      status: result.status,
      rounds: result.rounds,
      pending: result.pendingCount ?? 0,
    });
    return targetsWaitSchema.parse(result);
  });
