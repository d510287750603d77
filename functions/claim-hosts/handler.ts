/**
 * claim-hosts: Takes the target's lease for the deploy, then finds the hosts that can take commands now and splits them into batches; TargetLockedError when another run holds the lease, NoHostsError when no host is found.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { claimedHostsSchema, claimHostsInputSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { claimHostsStep } from '../../shared/deploy/steps/claim-hosts.ts';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'claim-hosts' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({
  leases: (target) => leaseStoreFor(target),
  hosts: (target) => hostDirectoryFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: claimHostsInputSchema }))
  .handler(async (event) => {
    const result = await claimHostsStep(event, deps);
    logger.info('lock acquired, hosts resolved', {
      key: result.lock.key,
      owner: result.lock.owner,
      expiresAt: result.lock.expiresAt,
      hosts: result.hosts.map((h) => h.id),
      batches: result.batchCount,
    });
    return claimedHostsSchema.parse(result);
  });
