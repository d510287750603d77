/**
 * `POST /deploys`: starts the deploy workflow for a GitHub push or a token-authenticated request.
 * Wiring only; the logic is `handleStartDeploy` in `shared/api/deploys.ts`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleStartDeploy } from '../../shared/api/deploys.ts';
import { deployLeaseReader } from '../../shared/api/leases.ts';
import { linked } from '../../shared/api/resources.ts';
import { ParameterCache } from '../../shared/api/secrets.ts';
import { findTarget, listTargets } from '../../shared/config/registry.ts';
import { DynamoLeaseStore } from '../../shared/drivers/aws/dynamo-lease-store.ts';

const logger = new Logger({ serviceName: 'stepops-api' });
const sfn = new SFNClient({});
const dynamo = new DynamoDBClient({});
const secrets = new ParameterCache(new SSMClient({}));

export const handler = middy<APIGatewayProxyEventV2>()
  .use(injectLambdaContext(logger, { logEvent: false }))
  .handler((event) =>
    handleStartDeploy(event, {
      sfn,
      stateMachineArn: linked('DeployStateMachine').arn,
      secrets,
      secretNames: linked('ApiConfig'),
      leases: deployLeaseReader(new DynamoLeaseStore(linked('StateTable').name, { client: dynamo })),
      findTarget,
      listTargets: () => listTargets().map(findTarget),
      stageTargets: linked('ApiConfig').targets,
      logger,
    }),
  );
