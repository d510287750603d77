/**
 * check-freshness: Finds the backups whose newest good copy is older than their declared RPO.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { freshnessInputSchema, freshnessSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { checkFreshnessStep } from '../../shared/backup/steps/check-freshness.ts';
import { backupCatalogueFor } from '../../shared/drivers/catalogue.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'check-freshness' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({ catalogue: () => backupCatalogueFor() });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: freshnessInputSchema }))
  .handler(async (event) => {
    const result = await checkFreshnessStep(event, deps);
    logger.info('freshness checked', { stale: result.stale.length, checked: result.checked });
    return freshnessSchema.parse(result);
  });
