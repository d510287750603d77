/**
 * create-snapshots: Snapshots the hosts' EBS volumes (and the RDS instance) before the deploy, tagged with target, run and ref.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { createSnapshotsInputSchema, snapshotsSchema } from '../../shared/deploy/contracts.ts';
import { deployDepsWith } from '../../shared/deploy/deps.ts';
import { createSnapshotsStep } from '../../shared/deploy/steps/create-snapshots.ts';
import { snapshotServiceFor } from '../../shared/drivers/snapshots.ts';
import { boundedErrors } from '../../shared/errors.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'create-snapshots' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = deployDepsWith({ snapshots: (target) => snapshotServiceFor(target) });

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: createSnapshotsInputSchema }))
  .handler(async (event) => {
    const result = await createSnapshotsStep(event, deps);
    logger.info('snapshots started', { ...result });
    return snapshotsSchema.parse(result);
  });
