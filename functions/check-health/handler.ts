/**
 * check-health: The health gate: probes the hosts until enough consecutive rounds pass, the gate's deadline, or the long-poll budget.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { checkHealthInputSchema, gateStateSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { checkHealthStep } from '../../shared/deploy/steps/check-health.ts';
import { boundedErrors } from '../../shared/errors.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';
import { DEPLOY_FUNCTION_TIMEOUTS } from '../../workflows/deploy.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'check-health' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({ probes: (target) => probeRunnerFor(target) });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: checkHealthInputSchema }))
  .handler(async (event, context) => {
    // The time left of this invocation; the function's deployed timeout bounds it when the context
    // says more (the local engine counts from the Task's timeout, 5 s longer).
    const started = Date.now();
    const functionEnd = started + DEPLOY_FUNCTION_TIMEOUTS['check-health'] * 1000;
    const remaining = () => Math.min(context.getRemainingTimeInMillis(), functionEnd - Date.now());
    const result = await checkHealthStep(event, deps, remaining);
    logger.info('health gate', {
      status: result.status,
      rounds: result.rounds,
      consecutive: result.consecutive,
    });
    return gateStateSchema.parse(result);
  });
