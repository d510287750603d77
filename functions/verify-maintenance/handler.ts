/**
 * verify-maintenance: Runs a maintenance job's health gate on every host once its steps ran, until it passes, the deadline, or the long-poll budget.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';
import { maintenanceVerifyInputSchema } from '../../shared/maintenance/contracts.ts';
import { verifyMaintenanceStep } from '../../shared/maintenance/run.ts';
import { verifyInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'verify-maintenance' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  hosts: (target) => hostDirectoryFor(target),
  probes: (target) => probeRunnerFor(target),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: maintenanceVerifyInputSchema }))
  .handler(async (event, context) => {
    const result = verifyInputSchema.shape.verification.parse(
      await verifyMaintenanceStep(event, deps, () => context.getRemainingTimeInMillis()),
    );
    logger.info('verification', { job: event.job, status: result.status, rounds: result.rounds });
    return result;
  });
