/**
 * `GET /deploys/{id}`: the status of a deploy. Wiring only; the logic is `handleGetDeploy` in
 * `shared/api/deploys.ts`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleGetDeploy } from '../../shared/api/deploys.ts';
import { linked } from '../../shared/api/resources.ts';
import { ParameterCache } from '../../shared/api/secrets.ts';

const logger = new Logger({ serviceName: 'stepops-api' });
const sfn = new SFNClient({});
const secrets = new ParameterCache(new SSMClient({}));

export const handler = middy<APIGatewayProxyEventV2>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler((event) =>
    handleGetDeploy(event, {
      sfn,
      stateMachineArn: linked('DeployStateMachine').arn,
      secrets,
      secretNames: linked('ApiConfig'),
      logger,
    }),
  );
