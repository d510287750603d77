/**
 * probe-target: resolves the target's hosts and runs every health probe once (host-side ones as one command per host set).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { probeRunnerFor } from '../../shared/drivers/probes.ts';
import { boundedErrors } from '../../shared/errors.ts';
import { probeTargetStep } from '../../shared/health/check.ts';
import { probeRoundSchema, probeTargetInputSchema } from '../../shared/health/contracts.ts';
import { healthDepsWith } from '../../shared/health/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'probe-target' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = healthDepsWith({
  hosts: (target) => hostDirectoryFor(target),
  probes: (target) => probeRunnerFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: probeTargetInputSchema }))
  .handler(async (event) => {
    const round = await probeTargetStep(event, deps);
    logger.info('probed', {
      target: round.target,
      hosts: round.hosts,
      failing: round.results.filter((r) => !r.ok).length,
    });
    return probeRoundSchema.parse(round);
  });
