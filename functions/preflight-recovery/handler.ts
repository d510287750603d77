/**
 * preflight-recovery: Describe calls only: the instances, volumes, snapshots, images, launch templates, Elastic IPs and dumps the runbook will act on must exist.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { Ec2InstanceOperations } from '../../shared/drivers/aws/ec2-instance-operations.ts';
import { RdsRestorer } from '../../shared/drivers/aws/rds-restorer.ts';
import { preflightInputSchema, recoveryContextSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { dumpLocatorFor } from '../../shared/recovery/dumps.ts';
import { preflightStep } from '../../shared/recovery/run.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'preflight-recovery' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  instances: () => new Ec2InstanceOperations(),
  databases: () => new RdsRestorer(),
  dumps: (target) => dumpLocatorFor(target),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: preflightInputSchema }))
  .handler(async (event) => {
    const result = recoveryContextSchema.parse(await preflightStep(event, deps));
    logger.info('pre-flight', { checks: result.checks });
    return result;
  });
