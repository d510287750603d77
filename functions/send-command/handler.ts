/**
 * send-command: Checks and renews the run's lease, then sends the target's deploy or rollback script to hosts (SSM Run Command, or bash for local hosts), once per run, phase and batch; returns at once.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { commandSentSchema, sendCommandInputSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { sendCommandStep } from '../../shared/deploy/steps/send-command.ts';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'send-command' } });
/** Only the capabilities this step uses (the lease is checked before each send): the bundle holds only their adapters. */
const deps = deployDepsWith({
  commands: (target) => commandRunnerFor(target),
  leases: (target) => leaseStoreFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: sendCommandInputSchema }))
  .handler(async (event) => {
    const result = await sendCommandStep(event, deps);
    logger.info('command sent', {
      commandId: result.commandId,
      phase: result.phase,
      hosts: result.hosts.map((h) => h.id),
    });
    return commandSentSchema.parse(result);
  });
