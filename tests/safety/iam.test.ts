/**
 * What IAM each function gets, checked on the rendered stacks (every Lambda's role, under Pulumi's
 * mocks) against a table written here, never against the capability table the stacks are built
 * from: which function may take which action that changes or destroys something. A function not
 * in the table may take none of them; nobody may delete a table or a bucket, or act on IAM beyond
 * passing the instance role.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { LAMBDA, type MockRun, type PolicyStatement, ROLE, runUnderMocks } from '../infra/harness.ts';
import { ensureSstPlatform } from '../infra/sst-install.ts';

/** Actions that change or destroy something, or act for stepops: the ones this table rules on. */
const WATCHED = new Set([
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteTable',
  'ec2:DeleteSnapshot',
  'ec2:DeleteVolume',
  'ec2:DetachVolume',
  'ec2:TerminateInstances',
  'ec2:RunInstances',
  'ec2:StopInstances',
  'ec2:StartInstances',
  'ec2:RebootInstances',
  'ec2:AssociateAddress',
  'rds:DeleteDBInstance',
  'rds:DeleteDBSnapshot',
  'rds:DeleteDBClusterSnapshot',
  'rds:ModifyDBInstance',
  'rds:RestoreDBInstanceFromDBSnapshot',
  's3:DeleteObject',
  's3:DeleteBucket',
  'ssm:SendCommand',
  'iam:PassRole',
  'states:StartExecution',
  'states:SendTaskSuccess',
  'states:SendTaskFailure',
]);

const LEASES = ['dynamodb:PutItem', 'dynamodb:DeleteItem'];

/**
 * The spec: each function (by component, or by route for the API) and the watched actions it
 * needs, from what it does.
 */
const EXPECTED: Record<string, string[]> = {
  // Deploy: the lease (take, renew at each send, release), the commands, the health gate's commands.
  DeployPlanDeploy: [],
  // The lease, taken before the hosts are resolved (describe calls only).
  DeployClaimHosts: LEASES,
  // The pre-deploy snapshots, and pruning the older ones their retention lets go.
  DeployCreateSnapshots: ['ec2:DeleteSnapshot', 'rds:DeleteDBSnapshot'],
  DeploySendCommand: [...LEASES, 'ssm:SendCommand'],
  DeployPollCommand: [],
  DeployCheckHealth: ['ssm:SendCommand'],
  DeployDrainTargets: [],
  DeployRegisterTargets: [],
  DeployDescribeBatchFailure: [],
  DeployPlanRollback: [],
  // Notify ends every run: it releases the lease (DeleteItem, only the run's own) and publishes.
  DeployNotify: LEASES,
  // Backup: the catalogue is written by record and prune; only prune deletes copies; the restore
  // test restores a scratch instance and its poll deletes it; the freshness check only reads.
  BackupPlanBackup: [],
  // The job's lease is taken by start, renewed by poll, released by notify; poll sends a dump's
  // upload command once the dump is done.
  BackupStartBackup: ['dynamodb:PutItem', 'ssm:SendCommand'],
  BackupPollBackup: ['dynamodb:PutItem', 'ssm:SendCommand'],
  BackupRecordBackup: ['dynamodb:PutItem'],
  BackupPruneBackups: [
    'dynamodb:PutItem',
    'ec2:DeleteSnapshot',
    'rds:DeleteDBSnapshot',
    'rds:DeleteDBClusterSnapshot',
    's3:DeleteObject',
  ],
  BackupStartRestoreTest: ['dynamodb:PutItem', 'rds:RestoreDBInstanceFromDBSnapshot', 'ssm:SendCommand'],
  BackupPollRestoreTest: ['rds:DeleteDBInstance'],
  BackupRecordRestoreTest: ['dynamodb:PutItem'],
  BackupCheckFreshness: [],
  BackupNotifyBackup: ['dynamodb:DeleteItem'],
  // Recovery: each AWS step only its own actions.
  RecoverPlanRecovery: [],
  RecoverAcquireLock: LEASES,
  RecoverPreflightRecovery: [],
  RecoverRequestApproval: ['dynamodb:PutItem'],
  RecoverRunRecoveryCommand: ['ssm:SendCommand'],
  RecoverRebootInstances: ['ec2:RebootInstances'],
  RecoverRestoreVolume: ['ec2:StopInstances', 'ec2:DetachVolume', 'ec2:StartInstances'],
  // The restored instance keeps production's enhanced monitoring: its role is passed to RDS.
  RecoverRestoreDatabase: ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:ModifyDBInstance', 'iam:PassRole'],
  RecoverReplaceInstance: [
    'ec2:RunInstances',
    'iam:PassRole',
    'ec2:StopInstances',
    'ec2:StartInstances',
    'ec2:DetachVolume',
    'ec2:AssociateAddress',
  ],
  RecoverVerifyRecovery: ['ssm:SendCommand'],
  // Terminates only the instance a replacement retired (tagged stepops:replaced-by-run), after its retention.
  RecoverTerminateReplaced: ['ec2:TerminateInstances'],
  RecoverReleaseLock: LEASES,
  RecoverNotifyRecovery: [],
  // Maintenance: the lease (saying the job and what it mutes), the job's steps and its gate's
  // command probes on the hosts; draining and registering are not watched actions.
  MaintainPlanMaintenance: [],
  MaintainAcquireLock: LEASES,
  MaintainRunMaintenanceStep: ['ssm:SendCommand'],
  MaintainVerifyMaintenance: ['ssm:SendCommand'],
  MaintainReleaseLock: LEASES,
  MaintainNotifyMaintenance: [],
  // Health: its state, the command probes, starting a recovery runbook.
  HealthCheckTarget: ['dynamodb:PutItem', 'ssm:SendCommand', 'states:StartExecution'],
  HealthNotifyHealthFailure: [],
  AlertsSubscriberSlackForwarderFunction: [],
  // The API: a deploy starts an execution; an approval link answers on POST only (a GET shows a page).
  'route POST /deploys': ['states:StartExecution'],
  'route GET /deploys/{id}': [],
  'route GET /approvals/{runId}/{decision}': [],
  'route POST /approvals/{runId}/{decision}': [
    'dynamodb:UpdateItem',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
  ],
};

let run: MockRun<unknown>;

beforeAll(async () => {
  ensureSstPlatform();
  registerFilledTargets();
  run = await runUnderMocks(async () => (await import('../../stacks/index.ts')).createStacks());
});

/** Every statement a function's role grants (inline policies and attached role policies). */
function statementsOfFunction(fn: { inputs: Record<string, unknown> }): PolicyStatement[] {
  const role = run.ofType(ROLE).find((r) => r.state.arn === fn.inputs.role);
  if (!role) throw new Error(`no role ${String(fn.inputs.role)}`);
  const inline = ((role.inputs.inlinePolicies ?? []) as { policy: string }[]).map((p) => p.policy);
  const attached = run
    .ofType('aws:iam/rolePolicy:RolePolicy')
    .filter((p) => p.inputs.role === `${role.name}-id` || p.inputs.role === role.state.name)
    .map((p) => String(p.inputs.policy));
  return [...inline, ...attached].flatMap((json) =>
    (JSON.parse(json) as { Statement: PolicyStatement[] }).Statement.map((s) => ({
      ...s,
      Action: [s.Action].flat(),
      Resource: [s.Resource].flat(),
    })),
  );
}

/** The function's key in the table: its component name, or its API route. */
function keyOf(fn: { name: string; inputs: Record<string, unknown> }): string {
  const route = /^DeployApi (route .+)$/.exec(String(fn.inputs.description ?? ''));
  return route ? route[1]! : fn.name.replace(/Function$/, '');
}

describe('what IAM each function gets', () => {
  it('grants each function exactly the watched actions the table gives it, and no wildcard', () => {
    // Prepare
    const functions = run.ofType(LAMBDA);
    const seen = functions.map(keyOf).sort();

    // Assess: the table and the stacks name the same functions.
    expect(seen).toEqual(Object.keys(EXPECTED).sort());
    for (const fn of functions) {
      const statements = statementsOfFunction(fn);
      const actions = statements.flatMap((s) => s.Action);
      const key = keyOf(fn);
      expect([...new Set(actions.filter((a) => WATCHED.has(a)))].sort(), key).toEqual(
        [...EXPECTED[key]!].sort(),
      );
      for (const action of actions) expect(action, `${key}: ${action}`).not.toMatch(/\*|^iam:(?!PassRole$)/);
      for (const s of statements) expect(s.Effect, key).toBe('Allow');
    }
  });

  it('gives the lease functions DeleteItem on the state table only, and no function DeleteTable', () => {
    // Prepare
    const table = run.ofType('aws:dynamodb/table:Table').find((t) => /State/.test(t.name));
    expect(table).toBeDefined();
    const lessees = run.ofType(LAMBDA).filter((fn) => EXPECTED[keyOf(fn)]!.includes('dynamodb:DeleteItem'));
    expect(lessees.map(keyOf).sort()).toEqual([
      'BackupNotifyBackup',
      'DeployClaimHosts',
      'DeployNotify',
      'DeploySendCommand',
      'MaintainAcquireLock',
      'MaintainReleaseLock',
      'RecoverAcquireLock',
      'RecoverReleaseLock',
    ]);

    // Assess
    for (const fn of lessees) {
      const deletes = statementsOfFunction(fn).filter((s) => s.Action.includes('dynamodb:DeleteItem'));
      expect(
        deletes.flatMap((s) => s.Resource),
        keyOf(fn),
      ).toEqual([table!.state.arn]);
    }
    for (const fn of run.ofType(LAMBDA)) {
      const actions = statementsOfFunction(fn).flatMap((s) => s.Action);
      expect(actions, keyOf(fn)).not.toContain('dynamodb:DeleteTable');
      expect(actions, keyOf(fn)).not.toContain('s3:DeleteBucket');
    }
  });
});
