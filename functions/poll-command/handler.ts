/**
 * poll-command: Long-polls a command (up to 50 s) and says whether it is still running, succeeded or failed beyond the batch's max errors.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { commandStatusSchema, pollCommandInputSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { pollCommandStep } from '../../shared/deploy/steps/poll-command.ts';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'poll-command' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({ commands: (target) => commandRunnerFor(target) });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: pollCommandInputSchema }))
  .handler(async (event, context) => {
    const result = await pollCommandStep(event, deps, () => context.getRemainingTimeInMillis());
    logger.info('command status', {
      commandId: result.commandId,
      status: result.status,
      done: result.done,
      failed: result.failedCount,
      polls: result.polls,
    });
    return commandStatusSchema.parse(result);
  });
