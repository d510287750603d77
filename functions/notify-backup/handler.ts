/**
 * notify-backup: Announces a failed backup, restore test or stale backup (success only when the target asks) and says how the run ends.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { backupOutcomeSchema, notifyBackupInputSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { notifyBackupStep } from '../../shared/backup/steps/notify-backup.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { fallbackNotifierFor, notifierFor } from '../../shared/drivers/notifier.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'notify-backup' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({
  notifier: (target) => notifierFor(target),
  fallbackNotifier: () => fallbackNotifierFor(),
  leases: (target) => leaseStoreFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: notifyBackupInputSchema }))
  .handler(async (event) => {
    const result = await notifyBackupStep(event, deps);
    logger.info('backup run outcome', {
      outcome: result.outcome,
      notified: result.notified,
      error: result.error,
    });
    return backupOutcomeSchema.parse(result);
  });
