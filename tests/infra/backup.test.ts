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
  leastPrivilegeProblems,
  type MockRun,
  type PolicyStatement,
  REGION,
  ROLE,
  runUnderMocks,
  statementsOf as statementsOfRole,
} from './harness.ts';
import { ensureSstPlatform } from './sst-install.ts';

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

const statementsOf = (roleName: string): PolicyStatement[] => statementsOfRole(run, roleName);

function functionStatements(folder: string): PolicyStatement[] {
  return statementsOf(`${backupComponentName(folder)}Role`);
}

/** No wildcard action, and Resource '*' only for actions that take nothing else (from the reference). */
async function expectLeastPrivilege(statements: PolicyStatement[], where = ''): Promise<void> {
  expect(await leastPrivilegeProblems(statements), where).toEqual([]);
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

  it('grants no wildcard, Resource "*" only to actions that take nothing else, and deletes only to prune and the restore-test cleanup', async () => {
    // Assess (what each function may call is checked by the IAM check on its recorded calls, tests/iam)
    for (const folder of workflow.BACKUP_FUNCTIONS)
      await expectLeastPrivilege(functionStatements(folder), folder);
    expect(actionsOf(functionStatements('plan-backup'))).toEqual([]);
    // The freshness check reads the catalogue and writes nothing.
    expect(actionsOf(functionStatements('check-freshness'))).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    for (const folder of workflow.BACKUP_FUNCTIONS.filter(
      (f) => f !== 'prune-backups' && f !== 'poll-restore-test' && f !== 'notify-backup',
    )) {
      expect(
        actionsOf(functionStatements(folder)).filter((a) => /Delete/.test(a)),
        folder,
      ).toEqual([]);
    }
  });

  it('takes and releases only backup leases in the state table', () => {
    const stateTable = String(run.one('aws:dynamodb/table:Table', 'StateTable').state.arn);
    for (const folder of ['start-backup', 'poll-backup', 'prune-backups', 'notify-backup']) {
      const leases = functionStatements(folder).filter((s) => s.Resource.includes(stateTable));
      expect(leases, folder).not.toEqual([]);
      for (const statement of leases) {
        expect(statement.Condition, folder).toEqual({
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['lease#backup:*'] },
        });
      }
    }
    expect(actionsOf(functionStatements('notify-backup').filter((s) => s.Condition))).toEqual([
      'dynamodb:DeleteItem',
    ]);
  });

  it('conditions snapshot and managed recovery point deletes on the stepops tag, and scopes dump deletes to each job prefix', () => {
    // Prepare
    const statements = functionStatements('prune-backups');
    const deletes = statements.filter((s) => s.Action.some((a) => /Delete/.test(a)));

    // Assess
    expect(actionsOf(deletes)).toEqual(
      expect.arrayContaining(['ec2:DeleteSnapshot', 'rds:DeleteDBSnapshot', 's3:DeleteObject']),
    );
    for (const statement of deletes) {
      const ec2Points = statement.Resource.every((r) =>
        /^arn:aws:ec2:[a-z0-9-]+::(snapshot|image)\/\*$/.test(r),
      );
      if (statement.Action.includes('s3:DeleteObject')) {
        // S3 supplies no s3:ExistingObjectTag for DeleteObject: a condition on it would deny every delete.
        expect(statement.Condition).toBeUndefined();
        expect(statement.Resource.every((r) => /^arn:aws:s3:::[a-z0-9.-]+\/.+\/\*$/.test(r))).toBe(true);
      } else if (statement.Action.includes('backup:DeleteRecoveryPoint') && ec2Points) {
        // EC2 and EBS points: their EC2 ARNs, identified in code by the catalogue entry that recorded them.
        expect(statement.Condition).toBeUndefined();
      } else {
        expect(
          statement.Condition?.StringEquals?.['aws:ResourceTag/stepops:target'],
          statement.Action.join(','),
        ).toEqual([...targets].sort());
      }
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
    // The upload URL is presigned by poll-backup, once the dump is done; start-backup signs none.
    expect(actionsOf(statements)).not.toContain('s3:PutObject');
    const put = functionStatements('poll-backup').find((s) => s.Action.includes('s3:PutObject'))!;
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
