/**
 * plan-recovery: Validates a recovery request field by field, plans the runbook and renders the plan printed before anything runs.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { planRecoveryInputSchema, recoveryRunPlanSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { planRecoveryStep } from '../../shared/recovery/run.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'plan-recovery' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: planRecoveryInputSchema }))
  .handler(async (event) => {
    const result = recoveryRunPlanSchema.parse(await planRecoveryStep(event, deps));
    logger.info('plan', {
      target: result.target,
      runbook: result.runbook,
      approval: result.approval.required,
      plan: result.planText,
    });
    return result;
  });
