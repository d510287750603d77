/**
 * plan-deploy: Validates the deploy request, loads the target and plans the deploy (no scripts in the output: each step renders what it runs).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { deployPlanSummarySchema, planDeployInputSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { planDeployStep } from '../../shared/deploy/steps/plan-deploy.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'plan-deploy' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: planDeployInputSchema }))
  .handler(async (event) => {
    const result = planDeployStep(event, deps);
    logger.info('deploy planned', { target: result.target, ref: result.ref, runId: result.runId });
    return deployPlanSummarySchema.parse(result);
  });
