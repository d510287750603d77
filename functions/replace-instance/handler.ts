/**
 * replace-instance: Launches a replacement instance, waits for its status checks and SSM agent, puts it in
 * the target's load-balancer target groups, moves the data volume and the Elastic IP, and retires the old one.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { ElbLoadBalancer } from '../../shared/drivers/aws/elb-load-balancer.ts';
import { progressSchema, stepInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { replaceInstanceStep } from '../../shared/recovery/steps/replace-instance.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'replace-instance' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  instances: () => new Ec2InstanceOperations(),
  loadBalancer: () => new ElbLoadBalancer(),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: stepInputSchema }))
  .handler(async (event, context) => {
    const result = progressSchema.parse(
      await replaceInstanceStep(event, deps, () => context.getRemainingTimeInMillis()),
    );
    logger.info('step progress', {
      step: event.step.name,
      status: result.status,
      phase: result.phase,
      newInstanceId: result.newInstanceId,
    });
    return result;
  });
