/**
 * start-backup: Starts one backup job: an EBS or RDS snapshot, an AWS Backup job, or the dump command on the host (with a presigned upload URL).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { jobHandleSchema, jobInputSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith, secretSourceFor } from '../../shared/backup/deps.ts';
import { startBackupStep } from '../../shared/backup/steps/start-backup.ts';
import { copyServiceFor, objectStoreFor } from '../../shared/drivers/backups.ts';
import { commandRunnerFor } from '../../shared/drivers/commands.ts';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { leaseStoreFor } from '../../shared/drivers/leases.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'start-backup' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({
  copies: copyServiceFor,
  objects: objectStoreFor,
  commands: (target) => commandRunnerFor(target),
  hosts: (target) => hostDirectoryFor(target),
  secrets: secretSourceFor,
  leases: (target) => leaseStoreFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: jobInputSchema }))
  .handler(async (event) => {
    const result = await startBackupStep(event, deps);
    logger.info('backup started', { target: result.target, backup: result.backup, kind: result.kind });
    return jobHandleSchema.parse(result);
  });
