/**
 * check-target: runs every health probe of the target once (host-side ones as one command per host set), then folds the round into its probe states (conditional write), alerts on transitions and starts the recovery runbook.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import {
  healthHistoryFor,
  healthStoreFor,
  leaseReaderFor,
  recoveryStarterFor,
  runLivenessFor,
} from '../../shared/drivers/health.ts';
import { hostDirectoryFor } from '../../shared/drivers/hosts.ts';
import { notifierFor } from '../../shared/drivers/notifier.ts';
import { boundedErrors } from '../../shared/errors.ts';
import { probeTargetStep, recordHealthStep } from '../../shared/health/check.ts';
import { checkTargetInputSchema, healthRunSummarySchema } from '../../shared/health/contracts.ts';
import { healthDepsWith } from '../../shared/health/deps.ts';
import { probeRunnerFor } from '../../shared/health/probe-runner.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'check-target' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = healthDepsWith({
  hosts: (target) => hostDirectoryFor(target),
  probes: (target) => probeRunnerFor(target),
  store: (target) => healthStoreFor(target),
  history: (target) => healthHistoryFor(target),
  leases: (target) => leaseReaderFor(target),
  runs: (target) => runLivenessFor(target),
  recoveries: (target) => recoveryStarterFor(target),
  notifier: (target) => notifierFor(target),
});

export const handler = middy()
  .use(boundedErrors())
  .use(injectLambdaContext(logger))
  .use(parser({ schema: checkTargetInputSchema }))
  .handler(async (event) => {
    const round = await probeTargetStep(event, deps);
    const summary = await recordHealthStep(round, deps, event.statusPageEverySeconds);
    logger.info('checked', {
      target: summary.target,
      hosts: round.hosts,
      failing: round.results.filter((r) => !r.ok).length,
      up: summary.up,
      down: summary.down,
      transitions: summary.events.length,
      recovery: summary.recovery?.started,
      publishStatus: summary.publishStatus,
    });
    return healthRunSummarySchema.parse(summary);
  });
