/**
 * record-backup: Records a job's copy in the catalogue: good only when complete and (a dump) the object is there with its size and tags.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { recordBackupInputSchema, recordedSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { recordBackupStep } from '../../shared/backup/steps/record-backup.ts';
import { objectStoreFor } from '../../shared/drivers/backups.ts';
import { backupCatalogueFor } from '../../shared/drivers/catalogue.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'record-backup' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({ catalogue: () => backupCatalogueFor(), objects: objectStoreFor });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: recordBackupInputSchema }))
  .handler(async (event) => {
    const result = await recordBackupStep(event, deps);
    logger.info('backup recorded', { backup: result.backup, outcome: result.outcome });
    return recordedSchema.parse(result);
  });
