/**
 * The health stack under Pulumi's mock runtime: the Express state machine (exactly the workflow's
 * definition with the deployed ARNs), its Lambdas with least-privilege IAM, and one EventBridge
 * Scheduler schedule per target with a health section, through a role allowed only to start it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { healthComponentName, scheduleComponentName } from '../../stacks/health.ts';
import { stageSettings } from '../../stacks/settings.ts';
import * as workflow from '../../workflows/health.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT, LAMBDA, type MockRun, ROLE, runUnderMocks } from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

const SCHEDULE = 'aws:scheduler/schedule:Schedule';

interface PolicyStatement {
  Effect: string;
  Action: string[];
  Resource: string[];
}

let run: MockRun<{ targets: string }>;

beforeAll(async () => {
  ensureSstPlatform();
  // The real targets as a user deploys them: with their unfilled(…) values filled in.
  registerFilledTargets();
  run = (await runUnderMocks(async () => (await import('../../stacks/index.ts')).createStacks())) as MockRun<{
    targets: string;
  }>;
});

function statementsOf(roleName: string): PolicyStatement[] {
  return statementsOfRun(run, roleName);
}

function statementsOfRun(run: MockRun<unknown>, roleName: string): PolicyStatement[] {
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

describe('health stack', () => {
  it('defines an Express state machine as exactly healthWorkflow() with the deployed ARNs', () => {
    // Prepare
    // Prepare: no STEPOPS_STATUS_PAGE: no status page, so no publish function
    const deployed = workflow.HEALTH_FUNCTIONS.filter((f) => f !== 'publish-status-page');
    const arns = Object.fromEntries(
      deployed.map((folder) => [folder, run.one(LAMBDA, `${healthComponentName(folder)}Function`).state.arn]),
    ) as Parameters<typeof workflow.healthWorkflow>[0];
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');

    // Assess
    expect(machine.inputs.type).toBe('EXPRESS');
    expect(JSON.parse(String(machine.inputs.definition))).toEqual(
      JSON.parse(JSON.stringify(workflow.healthWorkflow(arns))),
    );
    expect(JSON.parse(String(machine.inputs.definition)).States.PublishStatusPage).toBeUndefined();
    expect(run.ofType(LAMBDA).filter((f) => f.name.startsWith('HealthPublishStatusPage'))).toEqual([]);
    expect(run.ofType('aws:s3/bucket:Bucket').filter((b) => b.name.startsWith('StatusPage'))).toEqual([]);
    for (const folder of deployed) {
      const fn = run.one(LAMBDA, `${healthComponentName(folder)}Function`);
      expect(fn.inputs.runtime).toBe('nodejs24.x');
      expect(fn.inputs.timeout).toBe(workflow.HEALTH_FUNCTION_TIMEOUTS[folder]);
    }
  });

  it('creates one schedule per target with a health section, at its rate, starting the state machine', () => {
    // Prepare
    const targets = run.outputs.targets.split(',');
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');
    // The backup stack has schedules of its own (BackupSchedule…).
    const schedules = run.ofType(SCHEDULE).filter((s) => s.name.startsWith('HealthSchedule'));

    // Assess
    expect(schedules.map((s) => s.name).sort()).toEqual(targets.map(scheduleComponentName).sort());
    for (const schedule of schedules) {
      const target = schedule.inputs.target as { arn: string; roleArn: string; input: string };
      expect(schedule.inputs.scheduleExpression).toMatch(/^(rate|cron)\(/);
      expect(schedule.inputs.flexibleTimeWindow).toEqual({ mode: 'OFF' });
      expect(target.arn).toBe(machine.state.arn);
      expect(target.roleArn).toBe(run.one(ROLE, 'HealthSchedulerRole').state.arn);
      expect(targets).toContain(JSON.parse(target.input).target);
    }
  });

  it('lets the scheduler role only start the health state machine, trusted by the scheduler of this account', () => {
    // Prepare
    const statements = statementsOf('HealthSchedulerRole');
    const trust = JSON.parse(String(run.one(ROLE, 'HealthSchedulerRole').inputs.assumeRolePolicy));
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');

    // Assess
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['states:StartExecution'],
        Resource: [machine.state.arn],
      }),
    ]);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Statement[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
  });

  it('lets check-target start only the stage’s recovery runbooks and write only the state table', () => {
    // Which actions each health function needs is checked from the calls of its real handler
    // (tests/iam/health.test.ts: every call allowed, every granted action used); here, where.
    const check = statementsOf(`${healthComponentName('check-target')}Role`);

    // Assess
    expect(check.find((s) => s.Action.includes('states:StartExecution'))?.Resource).toEqual([
      `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:stepops-test-recover`,
    ]);
    expect(check.find((s) => s.Action.includes('dynamodb:PutItem'))?.Resource).toEqual([
      run.one('aws:dynamodb/table:Table', 'StateTable').state.arn,
    ]);
  });
});

/** The status page stack of a stage deployed with `STEPOPS_STATUS_PAGE=<mode>`. */
async function withStatusPage(mode: 'website' | 'cloudfront') {
  const settings = stageSettings('test', { STEPOPS_STATUS_PAGE: mode });
  return (await runUnderMocks(async () =>
    (await import('../../stacks/index.ts')).createStacks({ settings }),
  )) as unknown as MockRun<{ targets: string; statusPage: string }>;
}

function policyOf(resource: { inputs: Record<string, unknown> }): {
  Statement: { Effect: string; Principal: unknown; Action: string; Resource: string; Condition?: unknown }[];
} {
  return JSON.parse(String(resource.inputs.policy));
}

describe('health stack with a status page', () => {
  it('refuses a status page mode it does not know, naming the setting', () => {
    expect(() => stageSettings('test', { STEPOPS_STATUS_PAGE: 'public' })).toThrow(
      'STEPOPS_STATUS_PAGE: "public" is not a status page mode (off, website or cloudfront)',
    );
  });

  it('website: publishes through a Choice to a function that may read the state and put only the page, served by the bucket website', async () => {
    // Act
    const page = await withStatusPage('website');

    // Assess: the workflow with the publish step, exactly as the module builds it
    const arns = Object.fromEntries(
      workflow.HEALTH_FUNCTIONS.map((folder) => [
        folder,
        page.one(LAMBDA, `${healthComponentName(folder)}Function`).state.arn,
      ]),
    ) as Parameters<typeof workflow.healthWorkflow>[0];
    const machine = page.one('aws:sfn/stateMachine:StateMachine', 'HealthWorkflow');
    expect(JSON.parse(String(machine.inputs.definition))).toEqual(
      JSON.parse(JSON.stringify(workflow.healthWorkflow(arns))),
    );
    const bucketName = `stepops-test-status-${ACCOUNT}`;
    expect(page.one('aws:s3/bucket:Bucket', 'StatusPageBucket').inputs.bucket).toBe(bucketName);
    const fn = page.one(LAMBDA, `${healthComponentName('publish-status-page')}Function`);
    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(env).toMatchObject({
      STEPOPS_STATUS_BUCKET: bucketName,
      STEPOPS_STATUS_TITLE: 'test',
      STEPOPS_STATUS_TARGETS: page.outputs.targets,
      STEPOPS_STATE_TABLE: 'stepops-test-state',
    });
    const role = `${healthComponentName('publish-status-page')}Role`;
    const granted = new Map<string, string[]>();
    for (const s of statementsOfRun(page, role)) for (const a of s.Action) granted.set(a, s.Resource);
    expect([...granted.keys()].sort()).toEqual(['dynamodb:GetItem', 's3:PutObject']);
    expect(granted.get('s3:PutObject')).toEqual([`arn:aws:s3:::${bucketName}/index.html`]);
    expect(granted.get('dynamodb:GetItem')).toEqual([
      page.one('aws:dynamodb/table:Table', 'StateTable').state.arn,
    ]);
    // Anyone may read the page, and nothing else; the bucket's public access block allows that policy.
    expect(policyOf(page.one('aws:s3/bucketPolicy:BucketPolicy', 'StatusPagePolicy')).Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${bucketName}/index.html`,
      },
    ]);
    expect(
      page.one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'StatusPagePublicAccess').inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      ignorePublicAcls: true,
      blockPublicPolicy: false,
      restrictPublicBuckets: false,
    });
    expect(
      page.one('aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration', 'StatusPageWebsite').inputs
        .indexDocument,
    ).toEqual({ suffix: 'index.html' });
    expect(page.ofType('aws:cloudfront/distribution:Distribution')).toEqual([]);
  }, 600_000);

  it('cloudfront: keeps the bucket private and lets only this distribution read the page', async () => {
    // Act
    const page = await withStatusPage('cloudfront');

    // Assess
    const bucketName = `stepops-test-status-${ACCOUNT}`;
    const distribution = page.one('aws:cloudfront/distribution:Distribution', 'StatusPageDistribution');
    expect(
      page.one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'StatusPagePublicAccess').inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      ignorePublicAcls: true,
      blockPublicPolicy: true,
      restrictPublicBuckets: true,
    });
    expect(policyOf(page.one('aws:s3/bucketPolicy:BucketPolicy', 'StatusPagePolicy')).Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${bucketName}/index.html`,
        Condition: { StringEquals: { 'AWS:SourceArn': distribution.state.arn } },
      },
    ]);
    expect(distribution.inputs).toMatchObject({
      defaultRootObject: 'index.html',
      defaultCacheBehavior: { viewerProtocolPolicy: 'redirect-to-https', allowedMethods: ['GET', 'HEAD'] },
    });
    const origin = (distribution.inputs.origins as { originAccessControlId: string }[])[0];
    expect(origin?.originAccessControlId).toBe('StatusPageOriginAccess-id');
    expect(page.ofType('aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration')).toEqual([]);
  }, 600_000);
});
