/**
 * plan-maintenance: Validates a maintenance request (target, job) and plans the job as the unattended runbook it runs as.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { maintenanceRunPlanSchema, planMaintenanceInputSchema } from '../../shared/maintenance/contracts.ts';
import { planMaintenanceStep } from '../../shared/maintenance/run.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'plan-maintenance' } });
/** Only the target registry: planning touches nothing. */
const deps = recoveryDepsWith({});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: planMaintenanceInputSchema }))
  .handler(async (event) => {
    const result = maintenanceRunPlanSchema.parse(planMaintenanceStep(event, deps));
    logger.info('plan', { target: result.target, job: result.job, plan: result.runbook.planText });
    return result;
  });
