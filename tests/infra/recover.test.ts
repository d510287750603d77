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
  ACCOUNT,
  LAMBDA,
  leastPrivilegeProblems,
  type MockResource,
  type MockRun,
  type PolicyStatement,
  REGION,
  resolved,
  runUnderMocks,
  statementsOf as statementsOfRole,
} from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

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

const statementsOf = (roleName: string): PolicyStatement[] => statementsOfRole(run, roleName);

/** No wildcard action, and Resource '*' only for actions that take nothing else (from the reference). */
async function expectLeastPrivilege(statements: PolicyStatement[], where = ''): Promise<void> {
  expect(await leastPrivilegeProblems(statements), where).toEqual([]);
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

  it('grants no wildcard action, and Resource "*" only to describe calls', async () => {
    for (const name of workflow.RECOVER_FUNCTIONS) {
      await expectLeastPrivilege(statementsOf(`${recoverComponentName(name)}Role`), name);
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

  it("lets run-recovery-command read only the status of the stage's recover executions, and no other function", () => {
    // Prepare
    const statements = statementsOf(`${recoverComponentName('run-recovery-command')}Role`);

    // Assess: the execution ARN built from the state machine's name (no reference to it: no cycle)
    expect(grants(statements, 'states:DescribeExecution').flatMap((s) => s.Resource)).toEqual([
      `arn:aws:states:${REGION}:${ACCOUNT}:execution:stepops-test-recover:*`,
    ]);
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'RecoverWorkflow');
    expect(machine.inputs.name).toBe('stepops-test-recover');
    for (const name of workflow.RECOVER_FUNCTIONS.filter((n) => n !== 'run-recovery-command')) {
      expect(
        grants(statementsOf(`${recoverComponentName(name)}Role`), 'states:DescribeExecution'),
        name,
      ).toEqual([]);
    }
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

  it('serves GET and POST /approvals/{runId}/{decision} from answer-approval; only the POST answers, by the task token alone', async () => {
    // Prepare
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
      return { component: fn.name.replace(/Function$/, ''), key: String(route.inputs.routeKey) };
    });
    for (const { component, key } of components) {
      expect(lambdaOf(component).handler).toBe('functions/answer-approval/handler.handler');
      const role = { name: `${component}Role` };
      const statements = statementsOf(role.name);
      await expectLeastPrivilege(statements, role.name);
      const send = grants(statements, 'states:SendTaskSuccess');
      // A GET shows the confirmation page only: it may not answer the run. SendTaskSuccess and
      // SendTaskFailure have no resource-level permissions: the signed task token names the run.
      expect(send.flatMap((s) => s.Resource)).toEqual(key.startsWith('POST ') ? ['*'] : []);
      expect(grants(statements, 'dynamodb:UpdateItem').length > 0).toBe(key.startsWith('POST '));
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
