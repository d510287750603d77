/**
 * run-recovery-command: Runs a runbook step's script on the hosts (SSM Run Command, or bash for local hosts) and long-polls it; returns its output tail.
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
import { progressSchema, stepInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { dumpLocatorFor } from '../../shared/recovery/dumps.ts';
import { commandStep } from '../../shared/recovery/steps/run-recovery-command.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'run-recovery-command' } });
/**
 * Only the capabilities this step uses: the bundle holds only their adapters. A rolling step drains
 * each batch from the target's load balancer, passes the health gate's probes and registers it back;
 * a restore-dump step presigns the dump the host downloads.
 */
const deps = recoveryDepsWith({
  commands: (target) => commandRunnerFor(target),
  hosts: (target) => hostDirectoryFor(target),
  probes: (target) => probeRunnerFor(target),
  loadBalancer: (target) => loadBalancerFor(target),
  // Before each batch after the first: is the execution still running (StopExecution)?
  runs: (target) => runLivenessFor(target),
  dumps: (target) => dumpLocatorFor(target),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: stepInputSchema }))
  .handler(async (event, context) => {
    const result = progressSchema.parse(
      await commandStep(event, deps, () => context.getRemainingTimeInMillis()),
    );
    logger.info('step progress', { step: event.step.name, status: result.status, phase: result.phase });
    return result;
  });
