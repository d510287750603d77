/**
 * plan-backup: Validates the backup request, loads the target and lists the jobs of the run (bad input fails here, before anything runs).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { backupRunPlanSchema, planBackupInputSchema } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { planBackupStep } from '../../shared/backup/steps/plan-backup.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'plan-backup' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = backupDepsWith({});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: planBackupInputSchema }))
  .handler(async (event) => {
    const result = planBackupStep(event, deps);
    logger.info('backup planned', { target: result.target, task: result.task, jobs: result.jobs.length });
    return backupRunPlanSchema.parse(result);
  });
