/**
 * The deploy API: `POST /deploys` (GitHub webhook or bearer token) and `GET /deploys/{id}` (bearer
 * token). API Gateway passes every request through (`auth` none: GitHub can send neither a JWT nor
 * SigV4); each handler authenticates the request itself before anything else, in constant time.
 */

import { type FunctionBundling, functionCode } from './bundling.ts';
import { parameterStatements } from './permissions.ts';
import type { StageSettings } from './settings.ts';

/** What the API stack needs from the others. */
export interface ApiContext {
  settings: StageSettings;
  /** How each function is built: its handler's folder and the targets plugin. */
  bundling: FunctionBundling;
  account: $util.Input<string>;
  region: $util.Input<string>;
  stateMachine: aws.sfn.StateMachine;
  stateMachineLink: sst.Linkable<{ arn: $util.Output<string>; name: $util.Output<string> }>;
  stateTable: sst.aws.Dynamo;
  stateTableLink: sst.Linkable<{ name: $util.Output<string>; arn: $util.Output<string> }>;
}

/**
 * Creates the HTTP API and its two routes.
 *
 * @example
 * const { api } = createApi({ settings, account, region, stateMachine, stateMachineLink, stateTable, stateTableLink });
 */
export function createApi(context: ApiContext) {
  const { settings } = context;
  const apiConfig = new sst.Linkable('ApiConfig', {
    properties: {
      githubWebhookSecret: settings.parameters.githubWebhookSecret,
      apiTokenHash: settings.parameters.apiTokenHash,
      targets: settings.targets.map((t) => t.name),
    },
  });
  const executions = $interpolate`arn:aws:states:${context.region}:${context.account}:execution:${context.stateMachine.name}:*`;

  const api = new sst.aws.ApiGatewayV2('DeployApi', {
    transform: {
      stage: (args: aws.apigatewayv2.StageArgs) => {
        // A small ceiling: deploys are rare, and a leaked URL should not cost much.
        args.defaultRouteSettings = { throttlingBurstLimit: 10, throttlingRateLimit: 5 };
      },
    },
  });

  const common = {
    runtime: 'nodejs24.x',
    architecture: 'arm64',
    memory: '256 MB',
    timeout: '15 seconds',
  } as const;

  const start = api.route('POST /deploys', {
    ...common,
    ...functionCode(context.bundling, 'start-deploy'),
    link: [apiConfig, context.stateMachineLink, context.stateTableLink],
    permissions: [
      ...parameterStatements(context.account, context.region, [
        settings.parameters.githubWebhookSecret,
        settings.parameters.apiTokenHash,
      ]),
      { actions: ['states:StartExecution', 'states:ListExecutions'], resources: [context.stateMachine.arn] },
      { actions: ['states:DescribeExecution'], resources: [executions] },
      { actions: ['dynamodb:GetItem'], resources: [context.stateTable.arn] },
    ],
  });

  const status = api.route('GET /deploys/{id}', {
    ...common,
    ...functionCode(context.bundling, 'get-deploy'),
    link: [apiConfig, context.stateMachineLink],
    permissions: [
      ...parameterStatements(context.account, context.region, [settings.parameters.apiTokenHash]),
      { actions: ['states:DescribeExecution', 'states:GetExecutionHistory'], resources: [executions] },
    ],
  });

  return { api, apiConfig, routes: { start, status } };
}
