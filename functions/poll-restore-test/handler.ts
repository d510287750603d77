/**
 * poll-restore-test: Long-polls a restore test (up to 50 s); deletes the temporary RDS instance once it has been checked.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { pollRestoreInputSchema, restoreStatusSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { pollRestoreTestStep } from '../../shared/backup/steps/poll-restore-test.ts';
import { scratchDatabasesFor } from '../../shared/drivers/backups.ts';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'poll-restore-test' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({ commands: (target) => commandRunnerFor(target), scratch: scratchDatabasesFor });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: pollRestoreInputSchema }))
  .handler(async (event, context) => {
    const result = await pollRestoreTestStep(event, deps, () => context.getRemainingTimeInMillis());
    logger.info('restore test status', {
      backup: event.handle.backup,
      status: result.status,
      polls: result.polls,
    });
    return restoreStatusSchema.parse(result);
  });
