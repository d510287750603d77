/**
 * The backup stack under Pulumi's mock runtime: its functions and their IAM (deletes only on what
 * stepops tagged), the state machine (exactly backupWorkflow() with the deployed ARNs), the
 * catalogue table, the dump buckets (private, encrypted, the declared lifecycle) and the
 * EventBridge Scheduler schedules with their time zones and their role.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { backupComponentName, backupSchedules } from '../../stacks/backup.ts';
import * as workflow from '../../workflows/backup.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import {
  ACCOUNT,
  LAMBDA,
  type MockRun,
  type PolicyStatement,
  REGION,
  ROLE,
  runUnderMocks,
} from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

/** Actions without resource-level permissions: the only ones allowed on Resource '*'. */
const STAR_RESOURCE_ACTIONS = new Set([
  'ec2:DescribeInstances',
  'ec2:DescribeInstanceStatus',
  'ssm:DescribeInstanceInformation',
  'ssm:GetCommandInvocation',
  'ssm:ListCommands',
  'ec2:DescribeSnapshots',
  'backup:DescribeBackupJob',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

let run: MockRun<{ targets: string; backupStateMachine: string }>;
let targets: string[];

beforeAll(async () => {
  ensureSstPlatform();
  // The real targets as a user deploys them: with their unfilled(…) values filled in.
  registerFilledTargets();
  run = (await runUnderMocks(async () =>
    (await import('../../stacks/index.ts')).createStacks(),
  )) as unknown as MockRun<{
    targets: string;
    backupStateMachine: string;
  }>;
  targets = run.outputs.targets.split(',');
});

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

function functionStatements(folder: string): PolicyStatement[] {
  return statementsOf(`${backupComponentName(folder)}Role`);
}

function expectLeastPrivilege(statements: PolicyStatement[]): void {
  for (const statement of statements) {
    expect(statement.Effect).toBe('Allow');
    for (const action of statement.Action) expect(action, 'wildcard action').not.toMatch(/\*/);
    if (statement.Resource.includes('*')) {
      for (const action of statement.Action)
        expect(STAR_RESOURCE_ACTIONS.has(action), `${action} on '*'`).toBe(true);
    }
  }
}

const actionsOf = (statements: PolicyStatement[]) => [...new Set(statements.flatMap((s) => s.Action))].sort();

describe('backup stack', () => {
  it('creates one nodejs24.x function per backup Lambda and the state machine from backupWorkflow()', () => {
    // Prepare
    const arns = Object.fromEntries(
      workflow.BACKUP_FUNCTIONS.map((folder) => [
        folder,
        run.one(LAMBDA, `${backupComponentName(folder)}Function`).state.arn,
      ]),
    ) as Parameters<typeof workflow.backupWorkflow>[0];
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'BackupWorkflow');

    // Assess
    for (const folder of workflow.BACKUP_FUNCTIONS) {
      const fn = run.one(LAMBDA, `${backupComponentName(folder)}Function`);
      expect(fn.inputs.runtime).toBe('nodejs24.x');
      expect(fn.inputs.timeout).toBe(workflow.BACKUP_FUNCTION_TIMEOUTS[folder]);
    }
    expect(JSON.parse(String(machine.inputs.definition))).toEqual(
      JSON.parse(JSON.stringify(workflow.backupWorkflow(arns))),
    );
    expect(machine.inputs.type).toBe('STANDARD');
    expect(run.outputs.backupStateMachine).toBe(machine.state.arn);
    const invoke = statementsOf('BackupWorkflowRole').filter((s) =>
      s.Action.includes('lambda:InvokeFunction'),
    );
    expect([...invoke[0]!.Resource].sort()).toEqual(Object.values(arns).sort());
  });

  it('grants each backup function only what it calls, and never a wildcard', () => {
    // Assess
    for (const folder of workflow.BACKUP_FUNCTIONS) expectLeastPrivilege(functionStatements(folder));
    expect(actionsOf(functionStatements('plan-backup'))).toEqual([]);
    expect(actionsOf(functionStatements('notify-backup'))).toEqual(['sns:Publish']);
    // The freshness check reads the catalogue and writes nothing.
    expect(actionsOf(functionStatements('check-freshness'))).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    for (const folder of workflow.BACKUP_FUNCTIONS.filter(
      (f) => f !== 'prune-backups' && f !== 'poll-restore-test',
    )) {
      expect(
        actionsOf(functionStatements(folder)).filter((a) => /Delete/.test(a)),
        folder,
      ).toEqual([]);
    }
  });

  it('deletes snapshots, recovery points and dumps only when stepops tagged them', () => {
    // Prepare
    const statements = functionStatements('prune-backups');
    const deletes = statements.filter((s) => s.Action.some((a) => /Delete/.test(a)));

    // Assess
    expect(actionsOf(deletes)).toEqual(
      expect.arrayContaining(['ec2:DeleteSnapshot', 'rds:DeleteDBSnapshot', 's3:DeleteObject']),
    );
    for (const statement of deletes) {
      const conditions = statement.Condition?.StringEquals ?? {};
      const key = statement.Action.includes('s3:DeleteObject')
        ? 's3:ExistingObjectTag/stepops:target'
        : 'aws:ResourceTag/stepops:target';
      expect(conditions[key], statement.Action.join(',')).toEqual([...targets].sort());
    }
    const s3Deletes = deletes.find((s) => s.Action.includes('s3:DeleteObject'))!;
    expect(s3Deletes.Resource).toContain('arn:aws:s3:::docsai-stepops-backups/dumps/docsai/database/*');
  });

  it('creates snapshots only of tagged instances carrying the stepops tags, and signs uploads only under a job prefix', () => {
    // Prepare
    const statements = functionStatements('start-backup');

    // Assess
    const ofInstances = statements.find(
      (s) => s.Action.includes('ec2:CreateSnapshots') && s.Resource.some((r) => r.includes(':instance/')),
    )!;
    expect(ofInstances.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/stepops:target': [...targets].sort() },
    });
    const snapshots = statements.find(
      (s) => s.Resource.includes('arn:aws:ec2:*::snapshot/*') && s.Action.includes('ec2:CreateSnapshot'),
    )!;
    expect(snapshots.Condition).toEqual({
      StringEquals: { 'aws:RequestTag/stepops:target': [...targets].sort() },
    });
    const put = statements.find((s) => s.Action.includes('s3:PutObject'))!;
    expect(
      put.Resource.every((r) =>
        /^arn:aws:s3:::[a-z0-9.-]+\/.+\/$|^arn:aws:s3:::[a-z0-9.-]+\/.+\/\*$/.test(r),
      ),
    ).toBe(true);
    const rds = statements.find((s) => s.Action.includes('rds:CreateDBSnapshot') && !s.Condition)!;
    expect(rds.Resource).toEqual([`arn:aws:rds:us-east-1:${ACCOUNT}:db:datizmo-db`]);
    expect(actionsOf(statements)).not.toContain('ssm:GetParameter');
  });

  it('deletes only restore-test instances it tagged', () => {
    // Prepare
    const statements = functionStatements('poll-restore-test');
    const remove = statements.find((s) => s.Action.includes('rds:DeleteDBInstance'))!;

    // Assess
    expect(remove.Resource).toEqual([`arn:aws:rds:us-east-1:${ACCOUNT}:db:stepops-rt-*`]);
    expect(remove.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/stepops:restore-test': ['true'] } });
  });

  it('keeps the catalogue in its own table, by job and run, with the by-target index', () => {
    // Prepare
    const table = run.ofType('aws:dynamodb/table:Table').find((t) => t.name.startsWith('Backups'))!;

    // Assess
    expect(table.inputs.hashKey).toBe('job');
    expect(table.inputs.rangeKey).toBe('runId');
    expect(table.inputs.billingMode).toBe('PAY_PER_REQUEST');
    expect(table.inputs.globalSecondaryIndexes).toEqual([
      expect.objectContaining({ name: 'byTarget', hashKey: 'target', rangeKey: 'startedAt' }),
    ]);
  });

  it('creates the dump buckets private and encrypted, with a lifecycle rule per job', () => {
    // Prepare
    const buckets = run.ofType('aws:s3/bucket:Bucket');
    const encryption = run.ofType(
      'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
    );
    const blocks = run.ofType('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock');
    const lifecycles = run.ofType('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration');

    // Assess
    expect(buckets.map((b) => b.inputs.bucket).sort()).toEqual(
      [
        'ai-chat-stepops-backups',
        'datizmo-backups',
        'docsai-stepops-backups',
        'shop-stepops-backups',
        'zmanim-prod-backups',
      ].filter((b) => targets.some((t) => b.startsWith(t === 'zmanim' ? 'zmanim' : t))),
    );
    expect(encryption).toHaveLength(buckets.length);
    for (const e of encryption) {
      expect(e.inputs.rules).toEqual([
        { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms' }, bucketKeyEnabled: true },
      ]);
    }
    for (const b of blocks)
      expect(b.inputs).toMatchObject({ blockPublicAcls: true, restrictPublicBuckets: true });
    const rules = lifecycles.flatMap((l) => l.inputs.rules as { id: string; filter: { prefix: string } }[]);
    expect(rules.find((r) => r.id === 'stepops-docsai-database')?.filter).toEqual({
      prefix: 'dumps/docsai/database/',
    });
  });

  it('schedules every backup, restore test and freshness check in its time zone, with a role that may only start runs', () => {
    // Prepare
    const schedules = run.ofType('aws:scheduler/schedule:Schedule');
    const machine = run.one('aws:sfn/stateMachine:StateMachine', 'BackupWorkflow');
    const statements = statementsOf('BackupSchedulerRole');
    const trust = JSON.parse(String(run.one(ROLE, 'BackupSchedulerRole').inputs.assumeRolePolicy));

    // Assess
    expect(schedules.length).toBeGreaterThanOrEqual(targets.length * 2);
    const docsai = schedules.find((s) => s.inputs.name === 'stepops-test-docsai-database')!;
    expect(docsai.inputs).toMatchObject({
      scheduleExpression: 'cron(0 2 * * ? *)',
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
    });
    const target = docsai.inputs.target as { arn: string; roleArn: string; input: string };
    expect(target.arn).toBe(machine.state.arn);
    expect(JSON.parse(target.input)).toEqual({
      target: 'docsai',
      backup: 'database',
      reason: 'schedule cron(0 2 * * ? *)',
    });
    expect(schedules.some((s) => s.inputs.name === 'stepops-test-docsai-database-restore-test')).toBe(true);
    expect(schedules.some((s) => s.inputs.name === 'stepops-test-docsai-freshness')).toBe(true);
    expect(statements).toEqual([
      {
        Sid: 'StartBackupRuns',
        Effect: 'Allow',
        Action: ['states:StartExecution'],
        Resource: [machine.state.arn],
      },
    ]);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Statement[0].Condition).toEqual({ StringEquals: { 'aws:SourceAccount': ACCOUNT } });
    expect(REGION).toBe('eu-west-1');
  });

  it('plans schedules in the declared time zone (pure)', async () => {
    // Prepare
    const { findTarget } = await import('../../shared/config/registry.ts');
    const zmanim = findTarget('zmanim');
    const local = { ...zmanim, backup: zmanim.backup!.map((j) => ({ ...j, timezone: 'Asia/Jerusalem' })) };

    // Act
    const schedules = backupSchedules('prod', [local as never]);

    // Assess
    expect(schedules.find((s) => s.name === 'stepops-prod-zmanim-database')).toMatchObject({
      expression: 'cron(0 1 * * ? *)',
      timezone: 'Asia/Jerusalem',
    });
    expect(schedules.find((s) => s.name === 'stepops-prod-zmanim-freshness')?.input).toEqual({
      target: 'zmanim',
      task: 'freshness',
      reason: 'freshness rate(1 hour)',
    });
  });
});
