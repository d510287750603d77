/**
 * run-maintenance-step: Runs one step of a maintenance job on the hosts batch by batch (drain, run, health gate, register) and long-polls it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { loadBalancerFor } from '../../shared/drivers/load-balancers.ts';
import { runLivenessFor } from '../../shared/drivers/run-liveness.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';
import { maintenanceStepInputSchema } from '../../shared/maintenance/contracts.ts';
import { maintenanceStep } from '../../shared/maintenance/run.ts';
import { progressSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'run-maintenance-step' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  commands: (target) => commandRunnerFor(target),
  hosts: (target) => hostDirectoryFor(target),
  probes: (target) => probeRunnerFor(target),
  loadBalancer: (target) => loadBalancerFor(target),
  // Before each batch after the first: is the execution still running (StopExecution)?
  runs: (target) => runLivenessFor(target),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: maintenanceStepInputSchema }))
  .handler(async (event, context) => {
    const result = progressSchema.parse(
      await maintenanceStep(event, deps, () => context.getRemainingTimeInMillis()),
    );
    logger.info('step progress', {
      job: event.job,
      step: event.step.name,
      status: result.status,
      phase: result.phase,
    });
    return result;
  });
