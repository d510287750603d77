/**
 * terminate-replaced: after the declared retention, terminates the instances a replace-instance run retired.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import {
  terminateReplacedInputSchema,
  terminateReplacedOutputSchema,
} from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { terminateReplacedStep } from '../../shared/recovery/steps/terminate-replaced.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'terminate-replaced' } });
/** Only the capability this step uses: the bundle holds only its adapter. */
const deps = recoveryDepsWith({ instances: () => new Ec2InstanceOperations() });

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: terminateReplacedInputSchema }))
  .handler(async (event) => {
    const result = terminateReplacedOutputSchema.parse(await terminateReplacedStep(event, deps));
    logger.info('terminated replaced instances', { runId: event.runId, terminated: result.terminated });
    return result;
  });
