/**
 * poll-backup: Long-polls a backup job (up to 50 s) and says whether it is still running, completed or failed.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { jobStatusSchema, pollBackupInputSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { pollBackupStep } from '../../shared/backup/steps/poll-backup.ts';
import { copyServiceFor, objectStoreFor } from '../../shared/drivers/backups.ts';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'poll-backup' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({
  copies: copyServiceFor,
  commands: (target) => commandRunnerFor(target),
  leases: (target) => leaseStoreFor(target),
  // A dump's upload URL is presigned here, once the dump is done, and sent in the upload command.
  objects: objectStoreFor,
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: pollBackupInputSchema }))
  .handler(async (event, context) => {
    const result = await pollBackupStep(event, deps, () => context.getRemainingTimeInMillis());
    logger.info('backup status', { backup: event.handle.backup, status: result.status, polls: result.polls });
    return jobStatusSchema.parse(result);
  });
