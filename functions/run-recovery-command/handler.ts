/**
 * run-recovery-command: Runs a runbook step's script on the hosts (SSM Run Command, or bash for local hosts) and long-polls it; returns its output tail.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { progressSchema, stepInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { commandStep } from '../../shared/recovery/steps/run-recovery-command.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'run-recovery-command' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  commands: (target) => commandRunnerFor(target),
  hosts: (target) => hostDirectoryFor(target),
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
