/**
 * start-restore-test: Starts the restore test of a backup's newest good copy: the dump restored into scratch and checked on the host, or the RDS snapshot restored to a temporary instance.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { jobInputSchema, restoreHandleSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith, secretSourceFor } from '../../shared/backup/deps.ts';
import { startRestoreTestStep } from '../../shared/backup/steps/start-restore-test.ts';
import { objectStoreFor, scratchDatabasesFor } from '../../shared/drivers/backups.ts';
import { backupCatalogueFor } from '../../shared/drivers/catalogue.ts';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'start-restore-test' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({
  catalogue: () => backupCatalogueFor(),
  objects: objectStoreFor,
  commands: (target) => commandRunnerFor(target),
  hosts: (target) => hostDirectoryFor(target),
  scratch: scratchDatabasesFor,
  secrets: secretSourceFor,
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: jobInputSchema }))
  .handler(async (event) => {
    const result = await startRestoreTestStep(event, deps);
    logger.info('restore test started', { backup: result.backup, copy: result.copyRunId });
    return restoreHandleSchema.parse(result);
  });
