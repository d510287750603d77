/**
 * prune-backups: Adopts orphan copies found by their tags, then deletes what the retention allows (never the last good copy, only what stepops tagged and catalogued).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { pruneInputSchema, pruneResultSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { pruneBackupsStep } from '../../shared/backup/steps/prune-backups.ts';
import { copyServiceFor, objectStoreFor } from '../../shared/drivers/backups.ts';
import { backupCatalogueFor } from '../../shared/drivers/catalogue.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'prune-backups' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({
  catalogue: () => backupCatalogueFor(),
  copies: copyServiceFor,
  objects: objectStoreFor,
  leases: (target) => leaseStoreFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: pruneInputSchema }))
  .handler(async (event) => {
    const result = await pruneBackupsStep(event, deps);
    logger.info('backups pruned', {
      backup: result.backup,
      deleted: result.deleted.length,
      kept: result.kept,
      adopted: result.adopted.length,
      dryRun: result.dryRun,
    });
    return pruneResultSchema.parse(result);
  });
