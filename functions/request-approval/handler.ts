/**
 * request-approval: The callback Task of an approval: stores the task token and sends the plan with signed approve/reject links through the alerts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { approvalStoreFor } from '../../shared/drivers/approvals.ts';
import { approvalLinkSettings } from '../../shared/drivers/aws/approval-links.ts';
import { notifierFor } from '../../shared/drivers/notifier.ts';
import { requestApprovalStep } from '../../shared/recovery/approval.ts';
import { approvalRequestedSchema, requestApprovalInputSchema } from '../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';

/** Log level from POWERTOOLS_LOG_LEVEL (the CLI lowers it for local runs). */
const logger = new Logger({ serviceName: 'stepops', persistentKeys: { function: 'request-approval' } });
/** Only the capabilities this step uses: the bundle holds only their adapters. */
const deps = recoveryDepsWith({
  approvals: () => approvalStoreFor(),
  notifier: (target) => notifierFor(target),
  approvalLinks: () => approvalLinkSettings(),
});

export const handler = middy()
  .use(injectLambdaContext(logger))
  .use(parser({ schema: requestApprovalInputSchema }))
  .handler(async (event) => {
    const result = approvalRequestedSchema.parse(await requestApprovalStep(event, deps));
    logger.info('approval requested', { runId: event.plan.runId, expiresAt: result.expiresAt });
    return result;
  });
