/**
 * Customer-managed KMS keys on RDS restores: a restore from a DB snapshot encrypted with a customer
 * managed key makes RDS call `kms:CreateGrant` and `kms:DescribeKey` on the caller's behalf ("AWS
 * KMS key management", Authorizing use of a customer managed key, RDS user guide). The restores of
 * restore-database (recovery) and start-restore-test (backup) run through the real drivers against
 * the shared RDS fake, which reports the snapshot's `Encrypted`/`KmsKeyId` as DescribeDBSnapshots
 * does; their calls are checked against the stage's policies, and against the same policies without
 * their KMS statements, which must deny them, naming the KMS action.
 */
import { DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTarget } from '../../shared/config/registry.ts';
import { RdsRestorer } from '../../shared/drivers/aws/rds-restorer.ts';
import { RdsScratchDatabases } from '../../shared/drivers/aws/rds-scratch-databases.ts';
import { withinInvocation } from '../../shared/engine/index.ts';
import type { Ec2Target } from '../../stacks/settings.ts';
import { CallLog } from '../fakes/common.ts';
import { type FakeRds, fakeRds } from '../fakes/rds.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import { ACCOUNT } from '../infra/harness.ts';
import { type CheckedCall, checkCalls } from './check.ts';
import type { FunctionPolicies } from './policies.ts';
// Every call below is also checked, after the file, against the stage's own policies.
import { stagePolicies } from './record-calls.ts';
import { knowKmsKey, recordedCalls } from './recorder.ts';
import { authorisationsOf } from './requests.ts';

const REGION = 'us-east-1';
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b2c3d-0000-4000-8000-00000000aaaa`;
const ENCRYPTED = 'stepops-datizmo-20260101-030000';
const PLAIN = 'stepops-datizmo-20251201-030000';

let policies: FunctionPolicies;
let rds: FakeRds;

beforeAll(async () => {
  registerFilledTargets();
  const targets = ['ai-chat', 'datizmo', 'docsai', 'shop', 'zmanim'].map((n) => findTarget(n) as Ec2Target);
  policies = await stagePolicies(targets);
  rds = fakeRds(new CallLog(), { creatingReads: 0 });
  rds.addInstance({ id: 'datizmo-db', region: REGION, kmsKeyId: KEY, tags: { Name: 'datizmo' } });
  rds.addSnapshot({
    id: ENCRYPTED,
    region: REGION,
    dbInstance: 'datizmo-db',
    tags: { 'stepops:target': 'datizmo' },
    kmsKeyId: KEY,
    createTime: new Date('2026-01-01T03:00:00Z'),
  });
}, 600_000);
afterAll(() => rds.restore());

/** The calls `functionName` sent, as the check reads them. */
async function callsOf(functionName: string): Promise<CheckedCall[]> {
  const calls: CheckedCall[] = [];
  for (const c of recordedCalls().filter((call) => call.functionName === functionName)) {
    calls.push({ ...c, region: (await c.region) ?? REGION });
  }
  return calls;
}

/** The stage's policies with every statement granting a KMS action removed. */
function withoutKms(): FunctionPolicies {
  return new Map(
    [...policies].map(([name, deployments]) => [
      name,
      deployments.map((d) => ({
        ...d,
        statements: d.statements.filter((s) => !s.Action.some((a) => a.startsWith('kms:'))),
      })),
    ]),
  );
}

const denialsOf = async (calls: CheckedCall[], against: FunctionPolicies) =>
  (await checkCalls(calls, against)).denials.map((d) => `${d.call}: ${d.action} on ${d.resource}`);

describe('the RDS fake', () => {
  it('reports the KMS key of an encrypted snapshot and encrypts a restored instance with it', async () => {
    const client = new RDSClient({ region: REGION });
    const { DBSnapshots = [] } = await client.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: ENCRYPTED }),
    );
    expect(DBSnapshots[0]).toMatchObject({ Encrypted: true, KmsKeyId: KEY });
    rds.addSnapshot({ id: PLAIN, region: REGION, dbInstance: 'other-db' });
    const plain = await client.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: PLAIN }));
    expect(plain.DBSnapshots?.[0]?.Encrypted).toBe(false);
    expect(plain.DBSnapshots?.[0]?.KmsKeyId).toBeUndefined();
  });
});

describe('restore-database from a snapshot encrypted with a customer-managed key', () => {
  beforeAll(async () => {
    await withinInvocation({ functionName: 'restore-database' }, async () => {
      const restorer = new RdsRestorer();
      const found = await restorer.findSnapshot(REGION, { dbInstance: 'datizmo-db', target: 'datizmo' });
      const like = await restorer.describe(REGION, 'datizmo-db');
      if (!found || !like) throw new Error('the fake has the snapshot and the instance');
      await restorer.restore(REGION, {
        snapshotId: found.snapshotId,
        newId: 'datizmo-db-r0a1b2c3d',
        like,
        tags: { 'stepops:target': 'datizmo' },
      });
    });
  }, 600_000);

  it('asks for the grant and the key through RDS, and the stage allows both', async () => {
    const calls = await callsOf('restore-database');
    expect(calls.map((c) => c.command)).toContain('RestoreDBInstanceFromDBSnapshot');
    const result = await checkCalls(calls, policies);
    expect(result.denials).toEqual([]);
    expect([...(result.used.get('restore-database') ?? [])]).toEqual(
      expect.arrayContaining(['kms:CreateGrant', 'kms:DescribeKey']),
    );
    expect(rds.instances.get('datizmo-db-r0a1b2c3d')?.kmsKeyId).toBe(KEY);
  });

  it('is denied without the KMS statements, naming kms:CreateGrant and kms:DescribeKey on the key', async () => {
    expect(await denialsOf(await callsOf('restore-database'), withoutKms())).toEqual([
      `RDS RestoreDBInstanceFromDBSnapshot: kms:CreateGrant on ${KEY}`,
      `RDS RestoreDBInstanceFromDBSnapshot: kms:DescribeKey on ${KEY}`,
    ]);
  });
});

describe('start-restore-test of an encrypted DB snapshot', () => {
  beforeAll(async () => {
    // The restore test takes the snapshot from the catalogue: the key is the account's state.
    knowKmsKey(`rds:snapshot:${ENCRYPTED}`, KEY);
    await withinInvocation({ functionName: 'start-restore-test' }, () =>
      new RdsScratchDatabases().restore({
        region: REGION,
        snapshotId: ENCRYPTED,
        instanceId: 'stepops-rt-datizmo-1',
        instanceClass: 'db.t4g.micro',
        tags: { 'stepops:target': 'datizmo' },
      }),
    );
  }, 600_000);

  it('is allowed by the stage, and denied without its KMS statements', async () => {
    const calls = await callsOf('start-restore-test');
    expect((await checkCalls(calls, policies)).denials).toEqual([]);
    expect(await denialsOf(calls, withoutKms())).toEqual([
      `RDS RestoreDBInstanceFromDBSnapshot: kms:CreateGrant on ${KEY}`,
      `RDS RestoreDBInstanceFromDBSnapshot: kms:DescribeKey on ${KEY}`,
    ]);
  });

  it('a grant on a key in a region the stage has no RDS job in is denied', async () => {
    const other = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0a1b2c3d-0000-4000-8000-00000000bbbb`;
    // Through the request model: a snapshot of eu-west-1 restored by a stage whose jobs are in us-east-1.
    knowKmsKey('rds:snapshot:stepops-datizmo-elsewhere', other);
    const call: CheckedCall = {
      functionName: 'start-restore-test',
      client: 'RDSClient',
      command: 'RestoreDBInstanceFromDBSnapshot',
      input: {
        DBInstanceIdentifier: 'stepops-rt-datizmo-2',
        DBSnapshotIdentifier: 'stepops-datizmo-elsewhere',
        Tags: [{ Key: 'stepops:restore-test', Value: 'true' }],
      },
      region: 'eu-west-1',
    };
    const denials = await denialsOf([call], policies);
    expect(denials).toEqual(
      expect.arrayContaining([`RDS RestoreDBInstanceFromDBSnapshot: kms:CreateGrant on ${other}`]),
    );
  });
});

describe('the request model', () => {
  const restoreCluster = (input: Record<string, unknown>) =>
    authorisationsOf({
      client: 'RDSClient',
      command: 'RestoreDBClusterFromSnapshot',
      input: {
        DBClusterIdentifier: 'stepops-rt-x',
        SnapshotIdentifier: 'stepops-x-1',
        Engine: 'aurora-postgresql',
        ...input,
      },
      region: REGION,
      account: ACCOUNT,
    }).filter((a) => a.action.startsWith('kms:'));

  it('a cluster restore with a KmsKeyId asks RDS for a grant on that key, for an AWS resource, through RDS', () => {
    expect(restoreCluster({ KmsKeyId: KEY })).toEqual([
      {
        action: 'kms:CreateGrant',
        resources: [
          {
            arn: KEY,
            context: { 'kms:ViaService': `rds.${REGION}.amazonaws.com`, 'kms:GrantIsForAWSResource': 'true' },
          },
        ],
      },
      {
        action: 'kms:DescribeKey',
        resources: [{ arn: KEY, context: { 'kms:ViaService': `rds.${REGION}.amazonaws.com` } }],
      },
    ]);
  });

  it('an unencrypted snapshot (no key reported, none requested) needs no KMS call', () => {
    expect(restoreCluster({})).toEqual([]);
  });
});
