/**
 * reboot-instances: Reboots the target's instances and long-polls until their status checks pass and their SSM agent is online.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { progressSchema, stepInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { rebootStep } from '../../shared/recovery/steps/reboot-instances.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'reboot-instances' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  instances: () => new Ec2InstanceOperations(),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: stepInputSchema }))
  .handler(async (event, context) => {
    const result = progressSchema.parse(
      await rebootStep(event, deps, () => context.getRemainingTimeInMillis()),
    );
    logger.info('step progress', { step: event.step.name, status: result.status, phase: result.phase });
    return result;
  });
