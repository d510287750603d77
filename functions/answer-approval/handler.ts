/**
 * `GET|POST /approvals/{runId}/{decision}`: the signed approval link of a recovery run. Wiring only;
 * the logic is `handleApproval` in `shared/api/approval.ts`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleApproval } from '../../shared/api/approval.ts';
import { internalErrorResponse } from '../../shared/api/http.ts';
import { ParameterCache } from '../../shared/api/secrets.ts';
import { approvalStoreFor, taskAnswererFor } from '../../shared/drivers/approvals.ts';

const logger = new Logger({ serviceName: 'stepops-api' });
const secrets = new ParameterCache(new SSMClient({}));
const store = approvalStoreFor();
const answerer = taskAnswererFor();

export const handler = middy<APIGatewayProxyEventV2>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler(async (event) => {
    try {
      return await handleApproval(event, {
        store,
        answerer,
        secret: () => secrets.get(process.env.STEPOPS_APPROVAL_SECRET_PARAMETER ?? ''),
        logger,
      });
    } catch (error) {
      logger.error('approval failed', { error: (error as Error).name });
      return internalErrorResponse();
    }
  });
