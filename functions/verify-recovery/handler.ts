/**
 * verify-recovery: Runs the target's health probes after a runbook until they pass, the deadline, or the long-poll budget.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';
import { verifyInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { verifyStep } from '../../shared/recovery/finish.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'verify-recovery' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  hosts: (target) => hostDirectoryFor(target),
  probes: (target) => probeRunnerFor(target),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: verifyInputSchema }))
  .handler(async (event, context) => {
    const result = verifyInputSchema.shape.verification.parse(
      await verifyStep(event, deps, () => context.getRemainingTimeInMillis()),
    );
    logger.info('verification', { status: result.status, rounds: result.rounds });
    return result;
  });
