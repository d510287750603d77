/**
 * The recovery stack under Pulumi's mock runtime: its functions, the state machine (exactly the
 * workflow's definition with the deployed ARNs), least-privilege IAM for the AWS steps, and the
 * approval routes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { recoverComponentName } from '../../stacks/recover.ts';
import * as workflow from '../../workflows/recover.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import {
  LAMBDA,
  type MockResource,
  type MockRun,
  type PolicyStatement,
  ROLE,
  resolved,
  runUnderMocks,
} from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

/** Actions without resource-level permissions: the only ones allowed on Resource '*'. */
const STAR_RESOURCE_ACTIONS = new Set([
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceStatus',
  'ec2:DescribeSnapshots',
  'ec2:DescribeImages',
  'ec2:DescribeLaunchTemplates',
  'ec2:DescribeAddresses',
  'ec2:DescribeVolumes',
  'ssm:DescribeInstanceInformation',
  'ssm:GetCommandInvocation',
  'ssm:ListCommands',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

let run: MockRun<Record<string, string>>;

beforeAll(async () => {
  ensureSstPlatform();
  // The real targets as a user deploys them: with their unfilled(…) values filled in.
  registerFilledTargets();
  run = (await runUnderMocks(async () =>
    (await import('../../stacks/index.ts')).createStacks(),
  )) as unknown as MockRun<Record<string, string>>;
});

function lambdaOf(component: string): { fn: MockResource; handler: string } {
  const fn = run.one(LAMBDA, `${component}Function`);
  const build = run.rpc.find((r) => r.method === 'Runtime.Build' && r.args.functionID === component);
  if (!build) throw new Error(`no build of ${component}`);
  return { fn, handler: String(build.args.handler) };
}

function statementsOf(roleName: string): PolicyStatement[] {
  const role = run.one(ROLE, roleName);
  const inline = (role.inputs.inlinePolicies ?? []) as { policy: string }[];
  const attached = run
    .ofType('aws:iam/rolePolicy:RolePolicy')
    .filter((p) => p.inputs.role === `${roleName}-id` || p.inputs.role === role.state.name);
  return [...inline.map((p) => p.policy), ...attached.map((p) => String(p.inputs.policy))].flatMap((json) =>
    (JSON.parse(json) as { Statement: PolicyStatement[] }).Statement.map((s) => ({
      ...s,
      Action: [s.Action].flat(),
      Resource: [s.Resource].flat(),
    })),
  );
}

function expectLeastPrivilege(statements: PolicyStatement[], where: string): void {
  for (const statement of statements) {
    for (const action of statement.Action) expect(action, `${where}: wildcard action`).not.toMatch(/\*/);
    if (statement.Resource.includes('*')) {
      for (const action of statement.Action) {
        expect(STAR_RESOURCE_ACTIONS.has(action), `${where}: ${action} on Resource '*'`).toBe(true);
      }
    }
  }
}

const grants = (statements: PolicyStatement[], action: string) =>
  statements.filter((s) => s.Action.includes(action));

describe('recovery stack', () => {
  it('creates one function per recovery Lambda and the state machine exactly as recoverWorkflow() with their ARNs', async () => {
    // Prepare
    const arns = Object.fromEntries(
      workflow.RECOVER_FUNCTIONS.map((name) => {
        const { fn, handler } = lambdaOf(recoverComponentName(name));
        expect(handler).toBe(`functions/${name}/handler.handler`);
        expect(fn.inputs.timeout).toBe(workflow.RECOVER_FUNCTION_TIMEOUTS[name]);
        return [name, fn.state.arn];
      }),
    ) as Parameters<typeof workflow.recoverWorkflow>[0];
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'RecoverWorkflow');

    // Assess
    expect(machine.inputs.type).toBe('STANDARD');
    expect(JSON.parse(String(machine.inputs.definition))).toEqual(
      JSON.parse(JSON.stringify(workflow.recoverWorkflow(arns))),
    );
    const invoke = grants(statementsOf('RecoverWorkflowRole'), 'lambda:InvokeFunction');
    expect([...(invoke[0]?.Resource ?? [])].sort()).toEqual(Object.values(arns).sort());
    expect(await resolved(run.outputs.recoverStateMachine as never)).toBe(machine.state.arn);
  });

  it('grants no wildcard action, and Resource "*" only to describe calls', () => {
    for (const name of workflow.RECOVER_FUNCTIONS) {
      expectLeastPrivilege(statementsOf(`${recoverComponentName(name)}Role`), name);
    }
  });

  it('lets run-recovery-command read the dump objects it presigns for the hosts, and nothing else in S3', () => {
    // Prepare
    const statements = statementsOf(`${recoverComponentName('run-recovery-command')}Role`);

    // Assess
    const reads = grants(statements, 's3:GetObject').flatMap((s) => s.Resource);
    expect(reads).toEqual(expect.arrayContaining(['arn:aws:s3:::docsai-stepops-backups/*']));
    for (const r of reads) expect(r).toMatch(/^arn:aws:s3:::[a-z0-9.-]+\/\*$/);
    const s3Actions = statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('s3:'));
    expect([...new Set(s3Actions)]).toEqual(['s3:GetObject']);
  });

  it('lets replace-instance launch only from tagged AMIs or the declared launch templates, and move only the declared Elastic IPs', () => {
    // Prepare
    const statements = statementsOf(`${recoverComponentName('replace-instance')}Role`);

    // Assess
    const onImages = grants(statements, 'ec2:RunInstances').filter((s) =>
      s.Resource.some((r) => r.includes(':image/')),
    );
    expect(onImages.length).toBeGreaterThan(0);
    for (const s of onImages) {
      expect(s.Condition, JSON.stringify(s)).toBeDefined();
      const tag = s.Condition?.StringEquals?.['aws:ResourceTag/stepops:target'];
      const template = s.Condition?.ArnEquals?.['ec2:LaunchTemplate'];
      expect(Boolean(tag?.length) || Boolean(template?.length)).toBe(true);
    }
    const associate = grants(statements, 'ec2:AssociateAddress').flatMap((s) => s.Resource);
    const addresses = associate.filter((r) => r.includes(':elastic-ip/'));
    expect(addresses.sort()).toEqual(
      [
        expect.stringMatching(/:elastic-ip\/eipalloc-0a1b2c3d4e5f60718$/),
        expect.stringMatching(/:elastic-ip\/eipalloc-0c1d2e3f4a5b60718$/), // shop's instance-loss
        expect.stringMatching(/:elastic-ip\/eipalloc-0d47a1a7c0f5e9b21$/),
      ].sort(),
    );
    const instances = grants(statements, 'ec2:AssociateAddress').filter((s) =>
      s.Resource.some((r) => r.includes(':instance/')),
    );
    for (const s of instances)
      expect(s.Condition?.StringEquals?.['aws:ResourceTag/stepops:target']).toBeDefined();
    expect(grants(statements, 'ec2:TerminateInstances')).toEqual([]);
  });

  it('lets restore-database restore only from stepops-tagged snapshots, to instances named after the declared ones', () => {
    // Prepare
    const statements = statementsOf(`${recoverComponentName('restore-database')}Role`);

    // Assess
    const restore = grants(statements, 'rds:RestoreDBInstanceFromDBSnapshot');
    const fromSnapshots = restore.filter((s) => s.Resource.some((r) => r.includes(':snapshot:')));
    expect(fromSnapshots).toHaveLength(1);
    expect(fromSnapshots[0]?.Condition?.StringEquals?.['rds:snapshot-tag/stepops:target']).toEqual(
      expect.arrayContaining(['datizmo']),
    );
    const dbs = restore.flatMap((s) => s.Resource).filter((r) => r.includes(':db:'));
    expect(dbs).toEqual([expect.stringMatching(/:db:datizmo-db-\*$/)]);
    expect(grants(statements, 'rds:DeleteDBInstance')).toEqual([]);
  });

  it('serves GET and POST /approvals/{runId}/{decision} from answer-approval, which answers only the recovery state machine', () => {
    // Prepare
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'RecoverWorkflow');
    const routes = run
      .ofType('aws:apigatewayv2/route:Route')
      .filter((r) => String(r.inputs.routeKey).includes('/approvals/'));

    // Assess
    expect(routes.map((r) => r.inputs.routeKey).sort()).toEqual([
      'GET /approvals/{runId}/{decision}',
      'POST /approvals/{runId}/{decision}',
    ]);
    const components = routes.map((route) => {
      const integrationName = String(route.inputs.target)
        .replace(/^integrations\//, '')
        .replace(/-id$/, '');
      const integration = run.one('aws:apigatewayv2/integration:Integration', integrationName);
      const fn = run
        .ofType(LAMBDA)
        .find((f) => f.state.arn === integration.inputs.integrationUri) as MockResource;
      return fn.name.replace(/Function$/, '');
    });
    for (const component of components) {
      expect(lambdaOf(component).handler).toBe('functions/answer-approval/handler.handler');
      const role = { name: `${component}Role` };
      const statements = statementsOf(role.name);
      expectLeastPrivilege(statements, role.name);
      const send = grants(statements, 'states:SendTaskSuccess');
      expect(send.flatMap((s) => s.Resource)).toEqual([machine.state.arn]);
      expect(grants(statements, 'states:StartExecution')).toEqual([]);
    }
  });

  it('lets the pre-flight read the backup catalogue, and nothing else of DynamoDB', () => {
    const table = run
      .ofType('aws:dynamodb/table:Table')
      .find((t) => t.state.name === run.outputs.backupTable);
    const { fn } = lambdaOf(recoverComponentName('preflight-recovery'));
    const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(variables.STEPOPS_BACKUP_TABLE).toBe(run.outputs.backupTable);
    const statements = statementsOf(`${recoverComponentName('preflight-recovery')}Role`);
    const dynamo = statements.filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap((s) => s.Action).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    expect(dynamo.flatMap((s) => s.Resource)).toEqual([table?.state.arn, `${table?.state.arn}/index/*`]);
  });

  it('signs approval links: request-approval reads the signing key and knows the API URL', () => {
    const { fn } = lambdaOf(recoverComponentName('request-approval'));
    const variables = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(variables.STEPOPS_APPROVAL_SECRET_PARAMETER).toBe('/stepops/test/approval-signing-key');
    expect(variables.STEPOPS_API_URL).toMatch(/^https:\/\//);
    const statements = statementsOf(`${recoverComponentName('request-approval')}Role`);
    expect(grants(statements, 'ssm:GetParameter').flatMap((s) => s.Resource)).toEqual([
      expect.stringMatching(/:parameter\/stepops\/test\/approval-signing-key$/),
    ]);
  });
});
