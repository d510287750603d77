/**
 * The stacks under Pulumi's mock runtime, with SST's own components: the resources a stage creates,
 * the state machine definition (exactly the workflow's, with the deployed ARNs), the IAM of every
 * function and of the state machine, the API's routes, and the alerts subscription.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Statement } from '../../stacks/permissions.ts';
import { DEPLOY_FUNCTION_SETTINGS, functionComponentName } from '../../stacks/workflows.ts';
import * as workflow from '../../workflows/deploy.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import {
  ACCOUNT,
  functionRoles,
  LAMBDA,
  leastPrivilegeProblems,
  type MockResource,
  type MockRun,
  type PolicyStatement,
  REGION,
  ROLE,
  resolved,
  runUnderMocks,
  statementsOf as statementsOfRole,
} from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

let run: MockRun<{ targets: string }>;
let targets: string[];

beforeAll(async () => {
  // Normally done before `tsc` by `npm test`; here too, so that this file also runs on its own.
  ensureSstPlatform();
  // The real targets as a user deploys them: with their unfilled(…) values filled in.
  registerFilledTargets();
  run = (await runUnderMocks(async () => (await import('../../stacks/index.ts')).createStacks())) as MockRun<{
    targets: string;
  }>;
  targets = run.outputs.targets.split(',');
});

/** The Lambda function and the build request of an `sst.aws.Function` component. */
function lambdaOf(component: string): { fn: MockResource; handler: string; links: Record<string, unknown> } {
  const fn = run.one(LAMBDA, `${component}Function`);
  const build = run.rpc.find((r) => r.method === 'Runtime.Build' && r.args.functionID === component);
  if (!build) throw new Error(`no build of ${component}`);
  return {
    fn,
    handler: String(build.args.handler),
    links: (build.args.links ?? {}) as Record<string, unknown>,
  };
}

const statementsOf = (roleName: string): PolicyStatement[] => statementsOfRole(run, roleName);

/** Builder statements (with outputs) resolved into IAM JSON form. */
async function resolvedStatements(statements: Statement[]): Promise<PolicyStatement[]> {
  return Promise.all(
    statements.map(async (s) => {
      const condition: Record<string, Record<string, string[]>> = {};
      for (const c of s.conditions ?? []) {
        condition[c.test] = { ...condition[c.test], [c.variable]: c.values };
      }
      return {
        Effect: 'Allow',
        Action: s.actions,
        Resource: await Promise.all(s.resources.map((r) => resolved<string>(r))),
        ...(s.conditions ? { Condition: condition } : {}),
      };
    }),
  );
}

/** No wildcard action, and Resource '*' only for actions that take nothing else (from the reference). */
async function expectLeastPrivilege(statements: PolicyStatement[], where = ''): Promise<void> {
  expect(await leastPrivilegeProblems(statements), where).toEqual([]);
}

function actionsOf(statements: PolicyStatement[]): string[] {
  return [...new Set(statements.flatMap((s) => s.Action))].sort();
}

describe('deploy workflow', () => {
  it('creates one nodejs24.x function per deploy Lambda, with its handler', () => {
    // Assess
    for (const folder of workflow.DEPLOY_FUNCTIONS) {
      const { fn, handler } = lambdaOf(functionComponentName(folder));
      expect(handler).toBe(`functions/${folder}/handler.handler`);
      expect(fn.inputs.runtime).toBe('nodejs24.x');
      expect(fn.inputs.timeout).toBe(workflow.DEPLOY_FUNCTION_TIMEOUTS[folder]);
    }
  });

  it('defines the state machine as exactly deployWorkflow() with the deployed ARNs and the stage timeout', async () => {
    // Prepare
    const arns = Object.fromEntries(
      workflow.DEPLOY_FUNCTIONS.map((folder) => [
        folder,
        lambdaOf(functionComponentName(folder)).fn.state.arn,
      ]),
    ) as Parameters<typeof workflow.deployWorkflow>[0];
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'DeployWorkflow');

    // Assess
    const { findTarget } = await import('../../shared/config/registry.ts');
    const timeoutSeconds = workflow.deployTimeoutSeconds(targets.map((name) => findTarget(name)));
    const definition = JSON.parse(String(machine.inputs.definition));
    expect(definition).toEqual(JSON.parse(JSON.stringify(workflow.deployWorkflow(arns, { timeoutSeconds }))));
    // Every run is bounded: the stage's longest real deploy, at least an hour.
    expect(definition.TimeoutSeconds).toBe(timeoutSeconds);
    expect(timeoutSeconds).toBeGreaterThanOrEqual(workflow.MIN_DEPLOY_TIMEOUT_SECONDS);
    expect(
      Object.values(arns).every((arn) => arn.startsWith(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:`)),
    ).toBe(true);
    expect(machine.inputs.type).toBe('STANDARD');
  });

  it('logs executions to its CloudWatch log group with execution data', () => {
    // Prepare
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'DeployWorkflow');
    const logGroup = run.one('aws:cloudwatch/logGroup:LogGroup', 'DeployWorkflowLogs');

    // Assess
    expect(machine.inputs.loggingConfiguration).toEqual({
      logDestination: `${logGroup.state.arn}:*`,
      includeExecutionData: true,
      level: 'ALL',
    });
    expect(String(logGroup.inputs.name)).toMatch(/^\/aws\/vendedlogs\/states\//);
  });

  it('lets the state machine invoke exactly the deploy functions', async () => {
    // Prepare
    const statements = statementsOf('DeployWorkflowRole');
    const invoke = statements.filter((s) => s.Action.includes('lambda:InvokeFunction'));
    const arns = workflow.DEPLOY_FUNCTIONS.map(
      (folder) => lambdaOf(functionComponentName(folder)).fn.state.arn,
    );
    const trust = JSON.parse(String(run.one(ROLE, 'DeployWorkflowRole').inputs.assumeRolePolicy));

    // Assess
    expect(invoke).toHaveLength(1);
    expect([...invoke[0]!.Resource].sort()).toEqual([...arns].sort());
    expect(trust.Statement[0].Principal).toEqual({ Service: 'states.amazonaws.com' });
    expect(trust.Statement[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
    await expectLeastPrivilege(statements);
  });

  it('grants each deploy function only the actions of its drivers, never a wildcard', async () => {
    // Assess
    for (const folder of workflow.DEPLOY_FUNCTIONS) {
      const statements = statementsOf(`${functionComponentName(folder)}Role`);
      await expectLeastPrivilege(statements);
      const capabilities = DEPLOY_FUNCTION_SETTINGS[folder]!.capabilities;
      const sends = actionsOf(statements).includes('ssm:SendCommand');
      expect(sends, folder).toBe(capabilities.includes('send-commands') || capabilities.includes('probes'));
      if (!capabilities.includes('leases'))
        expect(actionsOf(statements).some((a) => a.startsWith('dynamodb:'))).toBe(false);
      if (!capabilities.includes('notify')) expect(actionsOf(statements)).not.toContain('sns:Publish');
      if (!capabilities.includes('snapshots')) {
        expect(
          actionsOf(statements).filter((a) => /Snapshot|CreateTags/.test(a)),
          folder,
        ).toEqual([]);
      }
    }
  });

  it('lets the drain and register functions change only the target groups the targets declare', async () => {
    // Prepare: a target behind two target groups, as the functions' statements would be built for it
    const { statementsFor } = await import('../../stacks/permissions.ts');
    const { parseTarget } = await import('../../shared/config/load.ts');
    const web = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef';
    const api = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/fedcba9876543210';
    const behindAlb = parseTarget(
      {
        name: 'web',
        description: 'two hosts behind an ALB',
        hosts: {
          type: 'ec2',
          region: 'eu-west-1',
          instanceIds: ['i-0123456789abcdef0'],
          workingDirectory: '/srv',
        },
        deploy: {
          steps: [{ name: 'up', script: 'true', timeout: 5 }],
          rollback: [{ name: 'down', script: 'true', timeout: 5 }],
          healthGate: { probes: ['up'], timeout: 30 },
          loadBalancer: { targetGroups: [web, api] },
        },
        health: { schedule: 'rate(1 minute)', probes: [{ name: 'up', type: 'ec2-status' }] },
      },
      'web.ts',
    );
    const context = {
      account: ACCOUNT,
      targets: [behindAlb] as never,
      stateTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t',
      alertsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:t',
    };

    // Act
    const drain = await resolvedStatements(statementsFor(['drain-targets'], context));
    const register = await resolvedStatements(statementsFor(['register-targets'], context));
    const deployedDrain = statementsOf(`${functionComponentName('drain-targets')}Role`);

    // Assess
    await expectLeastPrivilege(drain);
    await expectLeastPrivilege(register);
    expect(drain).toEqual([
      expect.objectContaining({ Action: ['elasticloadbalancing:DeregisterTargets'], Resource: [api, web] }),
      expect.objectContaining({ Action: ['elasticloadbalancing:DescribeTargetHealth'], Resource: ['*'] }),
    ]);
    expect(actionsOf(register)).toEqual([
      'elasticloadbalancing:DescribeTargetHealth',
      'elasticloadbalancing:RegisterTargets',
    ]);
    // The stage's real targets name no target group: those functions may change none.
    expect(actionsOf(deployedDrain).filter((a) => a.startsWith('elasticloadbalancing:'))).toEqual([]);
  });

  it('lets poll-command read commands and their invocations and nothing more of SSM', () => {
    // Act
    const actions = actionsOf(statementsOf(`${functionComponentName('poll-command')}Role`));

    // Assess
    expect(actions.filter((a) => a.startsWith('ssm:')).sort()).toEqual([
      'ssm:GetCommandInvocation',
      'ssm:ListCommands',
    ]);
  });

  it('lets claim-hosts take the lease and describe the hosts, and nothing more: what acquire-lock and resolve-hosts had', async () => {
    // Act
    const statements = statementsOf(`${functionComponentName('claim-hosts')}Role`);

    // Assess: the lease on the state table (take, read its holder, give back a half-taken one), then
    // the describe calls that find the running instances with an online SSM agent
    await expectLeastPrivilege(statements);
    expect(actionsOf(statements)).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'ec2:DescribeInstanceStatus',
      'ec2:DescribeInstances',
      'ssm:DescribeInstanceInformation',
    ]);
    const table = run.ofType('aws:dynamodb/table:Table').find((t) => /State/.test(t.name));
    expect(table).toBeDefined();
    const leaseStatements = statements.filter((st) => st.Action.some((a) => a.startsWith('dynamodb:')));
    expect(leaseStatements.flatMap((st) => st.Resource)).toEqual([table!.state.arn]);
  });

  it('lets every function that sends commands use only AWS-RunShellScript, and only on instances tagged with a stage target', async () => {
    // Prepare: every deployed sender's policy, and the IAM check's evaluation of four requests
    const { checkCalls } = await import('../iam/check.ts');
    const { knowTags } = await import('../iam/recorder.ts');
    const roles = functionRoles(run);
    const senders = roles.filter((r) => r.statements.some((s) => s.Action.includes('ssm:SendCommand')));
    const policies = new Map(
      roles.map((r) => [r.folder, [{ component: r.component, statements: r.statements }]]),
    );
    knowTags('i-0aaaaaaaaaaaaaaa1', { 'stepops:target': targets[0]! });
    knowTags('i-0bbbbbbbbbbbbbbb2', { Name: 'not-stepops' });
    knowTags('i-0ccccccccccccccc3', { 'stepops:target': 'not-a-stage-target' });
    const decide = async (folder: string, instance: string, document = 'AWS-RunShellScript') =>
      (
        await checkCalls(
          [
            {
              functionName: folder,
              client: 'SSMClient',
              command: 'SendCommand',
              input: { DocumentName: document, InstanceIds: [instance] },
              region: REGION,
            },
          ],
          policies,
        )
      ).denials.map((d) => d.resource.replace(/^.*[:/]/, ''));

    // Assess
    expect(senders.length).toBeGreaterThan(3);
    for (const { folder } of senders) {
      expect(await decide(folder, 'i-0aaaaaaaaaaaaaaa1'), folder).toEqual([]);
      expect(await decide(folder, 'i-0bbbbbbbbbbbbbbb2'), folder).toEqual(['i-0bbbbbbbbbbbbbbb2']);
      expect(await decide(folder, 'i-0ccccccccccccccc3'), folder).toEqual(['i-0ccccccccccccccc3']);
      expect(await decide(folder, 'i-0aaaaaaaaaaaaaaa1', 'AWS-RunPowerShellScript'), folder).toEqual([
        'AWS-RunPowerShellScript',
      ]);
    }
  });

  it('creates snapshots only with the stepops tags, and tags only as part of CreateSnapshots', async () => {
    // Prepare: the deployed snapshot functions, and the builder for a target with an RDS instance
    const { snapshotStatements } = await import('../../stacks/permissions.ts');
    const { findTarget } = await import('../../shared/config/registry.ts');
    const withDatabase = targets
      .map((name) => findTarget(name))
      .filter((t) => t.hosts.type === 'ec2' && t.deploy?.snapshotBeforeDeploy?.rdsInstance);
    const built = await resolvedStatements(
      snapshotStatements({
        account: ACCOUNT,
        targets: withDatabase as never,
        stateTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t',
        alertsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:t',
      }),
    );
    const deployed = workflow.DEPLOY_FUNCTIONS.flatMap((folder) =>
      statementsOf(`${functionComponentName(folder)}Role`),
    );
    const statements = [...built, ...deployed];
    const snapshotCreation = statements.filter(
      (s) => s.Action.includes('ec2:CreateSnapshots') && s.Resource.some((r) => r.includes(':snapshot/')),
    );
    const tagging = statements.filter((s) => s.Action.includes('ec2:CreateTags'));
    const rds = statements.filter((s) => s.Action.some((a) => a.startsWith('rds:')));
    const names = withDatabase.map((t) => t.name).sort();

    // Assess
    expect(withDatabase.length).toBeGreaterThan(0);
    expect(snapshotCreation.length).toBeGreaterThan(0);
    expect(tagging.length).toBeGreaterThan(0);
    await expectLeastPrivilege(statements);
    for (const statement of snapshotCreation) {
      expect(statement.Resource).toEqual(['arn:aws:ec2:*::snapshot/*']);
      expect(Object.keys(statement.Condition?.StringEquals ?? {})).toEqual(['aws:RequestTag/stepops:target']);
    }
    for (const statement of tagging) {
      expect(statement.Action).toEqual(['ec2:CreateTags']);
      expect(statement.Resource).toEqual(['arn:aws:ec2:*::snapshot/*']);
      expect(statement.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': ['CreateSnapshots'] } });
    }
    const rdsSnapshots = rds.find((s) => s.Action.includes('rds:AddTagsToResource'))!;
    expect(rdsSnapshots.Condition).toEqual({ StringEquals: { 'aws:RequestTag/stepops:target': names } });
    expect(rdsSnapshots.Resource).toEqual(
      withDatabase.map(
        (t) =>
          `arn:aws:rds:${t.hosts.type === 'ec2' ? t.hosts.region : ''}:${ACCOUNT}:snapshot:stepops-${t.name}-*`,
      ),
    );
    const sourceDb = rds.find((s) => !s.Action.includes('rds:AddTagsToResource'))!;
    expect(sourceDb.Action).toEqual(['rds:CreateDBSnapshot']);
    expect(sourceDb.Resource.every((r) => /:db:[A-Za-z][A-Za-z0-9-]*$/.test(r))).toBe(true);
  });
});

describe('notify permissions', () => {
  it("lets notify publish to the stage's topic and to each topic a target names as its own", async () => {
    // Prepare: one target names a topic by name (the stage topic's account and region), one by ARN
    const { notifyStatements } = await import('../../stacks/permissions.ts');
    const { findTarget } = await import('../../shared/config/registry.ts');
    const base = findTarget(targets[0]!);
    const stackTopic = `arn:aws:sns:${REGION}:${ACCOUNT}:stepops-test-Alerts`;
    const own = [
      { ...base, name: 'team-a', alerts: { topic: 'team-a-alerts' } },
      { ...base, name: 'team-b', alerts: { topic: 'arn:aws:sns:us-east-1:210987654321:team-b' } },
      { ...base, name: 'team-c', alerts: {} },
    ];

    // Act
    const statements = await resolvedStatements(
      notifyStatements({
        account: ACCOUNT,
        targets: own as never,
        stateTableArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t',
        alertsTopicArn: stackTopic,
      }),
    );

    // Assess
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['sns:Publish'],
        Resource: [
          stackTopic,
          'arn:aws:sns:us-east-1:210987654321:team-b',
          `arn:aws:sns:${REGION}:${ACCOUNT}:team-a-alerts`,
        ],
      },
    ]);
  });
});

describe('state table', () => {
  it('is on-demand, keyed by pk, with TTL on expiresAt', () => {
    // Prepare
    const table = run.one('aws:dynamodb/table:Table', 'StateTable');

    // Assess
    expect(table.inputs).toMatchObject({
      name: 'stepops-test-state',
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'pk',
      attributes: [{ name: 'pk', type: 'S' }],
      ttl: { attributeName: 'expiresAt', enabled: true },
    });
  });
});

describe('deploy API', () => {
  function routes() {
    return run.ofType('aws:apigatewayv2/route:Route').map((route) => {
      const integrationName = String(route.inputs.target)
        .replace(/^integrations\//, '')
        .replace(/-id$/, '');
      const integration = run.one('aws:apigatewayv2/integration:Integration', integrationName);
      const fn = run.ofType(LAMBDA).find((f) => f.state.arn === integration.inputs.integrationUri)!;
      const component = fn.name.replace(/Function$/, '');
      return { route, integration, component, ...lambdaOf(component) };
    });
  }

  it('has exactly POST /deploys and GET /deploys/{id}, each on its handler, authenticated in the handler', () => {
    // Act (the recovery stack's approval routes are tested with it)
    const found = routes().filter((r) => String(r.route.inputs.routeKey).includes('/deploys'));

    // Assess
    expect(found.map((r) => [r.route.inputs.routeKey, r.handler]).sort()).toEqual([
      ['GET /deploys/{id}', 'functions/get-deploy/handler.handler'],
      ['POST /deploys', 'functions/start-deploy/handler.handler'],
    ]);
    for (const r of found) {
      // GitHub can send neither a JWT nor SigV4: the handler checks the HMAC or the bearer token first.
      expect(r.route.inputs.authorizationType).toBe('NONE');
      expect(r.integration.inputs.payloadFormatVersion).toBe('2.0');
    }
  });

  it('links what the handlers read and grants only the Step Functions, DynamoDB and SSM calls they make', async () => {
    // Prepare
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'DeployWorkflow');
    const table = run.one('aws:dynamodb/table:Table', 'StateTable');
    const byHandler = Object.fromEntries(routes().map((r) => [r.handler, r]));
    const start = byHandler['functions/start-deploy/handler.handler']!;
    const status = byHandler['functions/get-deploy/handler.handler']!;
    const startStatements = statementsOf(`${start.component}Role`);
    const statusStatements = statementsOf(`${status.component}Role`);

    // Assess
    expect(Object.keys(start.links).sort()).toEqual(['ApiConfig', 'DeployStateMachine', 'StateTable']);
    expect(start.links.ApiConfig).toMatchObject({
      githubWebhookSecret: '/stepops/test/github-webhook-secret',
      apiTokenHash: '/stepops/test/api-token-sha256',
      targets,
    });
    expect(Object.keys(status.links).sort()).toEqual(['ApiConfig', 'DeployStateMachine']);
    await expectLeastPrivilege(startStatements);
    await expectLeastPrivilege(statusStatements);
    expect(startStatements.find((s) => s.Action.includes('states:StartExecution'))!.Resource).toEqual([
      machine.state.arn,
    ]);
    expect(startStatements.find((s) => s.Action.includes('dynamodb:GetItem'))!.Resource).toEqual([
      table.state.arn,
    ]);
    expect(startStatements.find((s) => s.Action.includes('ssm:GetParameter'))!.Resource.sort()).toEqual([
      `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/stepops/test/api-token-sha256`,
      `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/stepops/test/github-webhook-secret`,
    ]);
    expect(statusStatements.find((s) => s.Action.includes('states:GetExecutionHistory'))!.Resource).toEqual([
      `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine.inputs.name}:*`,
    ]);
  });
});

describe('alerts', () => {
  it('subscribes the Slack forwarder to the topic, with retries into a dead-letter queue', () => {
    // Prepare
    const topic = run.one('aws:sns/topic:Topic', 'AlertsTopic');
    const subscription = run.one('aws:sns/topicSubscription:TopicSubscription', /SlackForwarder/);
    const forwarder = run.ofType(LAMBDA).find((f) => f.state.arn === subscription.inputs.endpoint)!;
    const component = forwarder.name.replace(/Function$/, '');
    const { handler, links } = lambdaOf(component);
    const retries = run.one(
      'aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig',
      'SlackForwarderRetries',
    );
    const queue = run.one('aws:sqs/queue:Queue', 'AlertsDeadLetterQueue');

    // Assess
    expect(topic.inputs.name).toBe('stepops-test-alerts');
    expect(subscription.inputs).toMatchObject({ protocol: 'lambda', topic: topic.state.arn });
    expect(handler).toBe('functions/forward-alert/handler.handler');
    expect(links).toEqual({
      SlackWebhook: expect.objectContaining({ parameter: '/stepops/test/slack-webhook-url' }),
    });
    expect(retries.inputs).toMatchObject({
      functionName: forwarder.state.name,
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: queue.state.arn } },
    });
  });

  it("lets the forwarder read only the stage's and the targets' webhook parameters", async () => {
    // Prepare
    const { stageSettings } = await import('../../stacks/settings.ts');
    const { slackWebhookParameters } = await import('../../stacks/alerts.ts');
    const subscription = run.one('aws:sns/topicSubscription:TopicSubscription', /SlackForwarder/);
    const forwarder = run.ofType(LAMBDA).find((f) => f.state.arn === subscription.inputs.endpoint)!;
    const statements = statementsOf(`${forwarder.name.replace(/Function$/, '')}Role`);
    const expected = slackWebhookParameters(stageSettings('test', {})).map(
      (name) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`,
    );

    // Assess
    await expectLeastPrivilege(statements);
    expect(statements.find((s) => s.Action.includes('ssm:GetParameter'))!.Resource.sort()).toEqual(
      expected.sort(),
    );
    expect(expected.length).toBeGreaterThan(1);
  });
});

describe('stage targets', () => {
  it('deploys the EC2 targets and leaves local ones out', () => {
    // Assess
    expect(targets).not.toContain('demo');
    expect(targets.length).toBeGreaterThan(0);
  });

  it('refuses a stage that names a local target, saying why', async () => {
    // Prepare
    const { stageSettings } = await import('../../stacks/settings.ts');

    // Act & Assess
    expect(() => stageSettings('test', { STEPOPS_TARGETS: 'zmanim,demo' })).toThrow(
      /target "demo" declares local hosts .*cannot be deployed to AWS; remove it from STEPOPS_TARGETS/,
    );
    expect(() => stageSettings('test', { STEPOPS_TARGETS: 'nope' })).toThrow(/unknown target "nope"/);
    expect(stageSettings('test', { STEPOPS_TARGETS: 'zmanim' }).targets.map((t) => t.name)).toEqual([
      'zmanim',
    ]);
  });

  it('sends command output to the log group the stage names, and refuses a name that is not one', async () => {
    // Prepare
    const { stageSettings } = await import('../../stacks/settings.ts');
    const { driverEnvironment } = await import('../../stacks/workflows.ts');
    const names = { stateTableName: 'state', alertsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts' };

    // Act
    const settings = stageSettings('test', { STEPOPS_COMMAND_LOG_GROUP: '/stepops/test/commands' });
    const withGroup = driverEnvironment({ ...names, commandLogGroup: settings.commandLogGroup });
    const without = driverEnvironment({
      ...names,
      commandLogGroup: stageSettings('test', {}).commandLogGroup,
    });

    // Assess
    expect(withGroup.STEPOPS_COMMAND_LOG_GROUP).toBe('/stepops/test/commands');
    expect(without).not.toHaveProperty('STEPOPS_COMMAND_LOG_GROUP');
    expect(() => stageSettings('test', { STEPOPS_COMMAND_LOG_GROUP: 'bad group; rm' })).toThrow(
      /STEPOPS_COMMAND_LOG_GROUP: "bad group; rm" is not a log group name/,
    );
  });
});
