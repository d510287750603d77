/**
 * record-restore-test: Writes a restore test's result into the catalogue entry of the copy it tested.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { recordRestoreInputSchema, restoreRecordedSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { recordRestoreTestStep } from '../../shared/backup/steps/record-restore-test.ts';
import { backupCatalogueFor } from '../../shared/drivers/catalogue.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'record-restore-test' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({ catalogue: () => backupCatalogueFor() });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: recordRestoreInputSchema }))
  .handler(async (event) => {
    const result = await recordRestoreTestStep(event, deps);
    logger.info('restore test recorded', { backup: result.backup, outcome: result.outcome });
    return restoreRecordedSchema.parse(result);
  });
