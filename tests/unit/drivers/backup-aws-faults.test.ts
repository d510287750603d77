/**
 * The backup copy service on the shared AWS fakes, where AWS answers what the per-call mocks never
 * did: a snapshot just created that Describe does not show yet (eventual consistency), an RDS
 * instance that is not `available`, a volume at its concurrent-snapshot limit, the manual snapshot
 * quota.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupSourceBusyError, SnapshotQuotaExceededError } from '../../../shared/backup/errors.ts';
import { AwsCopyService } from '../../../shared/drivers/aws/aws-copy-service.ts';
import { type AwsFakes, installAwsFakes } from '../../fakes/index.ts';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const REGION = 'eu-west-1';
const TAGS = { 'stepops:target': 'shop', 'stepops:backup': 'volumes', 'stepops:run': 'run-1' };
const HOST = { kind: 'ec2' as const, id: 'i-0aaaaaaaaaaaaaaa1', region: REGION };
let aws: AwsFakes;

beforeEach(() => {
  aws = installAwsFakes();
  aws.ec2.addVolume({ id: 'vol-0root', region: REGION, size: 8, instanceId: HOST.id, device: '/dev/xvda' });
  aws.ec2.addVolume({ id: 'vol-0data', region: REGION, size: 50, instanceId: HOST.id, device: '/dev/sdf' });
  aws.rds.addInstance({ id: 'datizmo-db', region: REGION });
});
afterEach(() => aws.restore());

const ebs = () =>
  new AwsCopyService().start({ kind: 'ebs-snapshot', hosts: [HOST], tags: TAGS, description: 'nightly' });
const rds = (snapshotId: string) =>
  new AwsCopyService().start({
    kind: 'rds-snapshot',
    region: REGION,
    dbInstance: 'datizmo-db',
    snapshotId,
    tags: TAGS,
  });

describe('a snapshot just created that AWS does not show yet (issue 18 item 6)', () => {
  it('EBS: InvalidSnapshot.NotFound is pending, naming what is not visible yet, then completes', async () => {
    // Prepare: each new snapshot answers NotFound to its first two reads by id
    aws.ec2.switches.invisibleReads = 2;
    const ref = await ebs();
    const copies = new AwsCopyService();

    // Act
    const first = await copies.status(ref);
    const states = [first.state];
    for (let i = 0; i < 6 && states.at(-1) !== 'completed'; i += 1)
      states.push((await copies.status(ref)).state);

    // Assess
    expect(first).toMatchObject({ state: 'pending', unseen: ref.resources.map((r) => r.id) });
    expect(first.detail).toContain('not visible yet');
    expect(states.at(-1)).toBe('completed');
    expect(states).not.toContain('failed');
  });

  it('RDS: DBSnapshotNotFound right after CreateDBSnapshot is pending', async () => {
    // Prepare: the snapshot exists in CreateDBSnapshot's answer but not yet for Describe
    const ref = await rds('stepops-datizmo-database-1');
    const created = aws.rds.snapshots.get('stepops-datizmo-database-1');
    aws.rds.snapshots.delete('stepops-datizmo-database-1');

    // Act
    const status = await new AwsCopyService().status(ref);
    if (created) aws.rds.snapshots.set(created.id, created);
    const later = await new AwsCopyService().status(ref);

    // Assess
    expect(status).toMatchObject({ state: 'pending', unseen: ['stepops-datizmo-database-1'] });
    expect(later.state).not.toBe('failed');
    expect(later.unseen).toBeUndefined();
  });
});

describe('refusals that are not failures of the copy (issue 18 item 8)', () => {
  it('CreateDBSnapshot of an instance busy with another snapshot is BackupSourceBusyError, retried later', async () => {
    // Prepare: a pre-deploy snapshot is still being taken; the instance reports backing-up
    aws.rds.addSnapshot({
      id: 'stepops-datizmo-predeploy',
      region: REGION,
      dbInstance: 'datizmo-db',
      status: 'creating',
      creatingReads: 0,
    });

    // Act
    const busy = await rds('stepops-datizmo-database-2').catch((e: Error) => e);
    const later = await rds('stepops-datizmo-database-2');

    // Assess
    expect(busy).toBeInstanceOf(BackupSourceBusyError);
    expect((busy as Error).message).toMatch(/InvalidDBInstanceStateFault.*tried again later/);
    expect(later.resources).toEqual([{ id: 'stepops-datizmo-database-2', region: REGION }]);
  });

  it('ConcurrentSnapshotLimitExceeded is BackupSourceBusyError', async () => {
    // Prepare: an st1 volume allows one pending snapshot at a time; one is pending
    aws.ec2.switches.concurrentSnapshotsPerVolume = 1;
    aws.ec2.switches.pendingReads = 3;
    await ebs();

    // Act
    const busy = await ebs().catch((e: Error) => e);

    // Assess
    expect(busy).toBeInstanceOf(BackupSourceBusyError);
    expect((busy as Error).message).toContain('ConcurrentSnapshotLimitExceeded');
  });

  it('the manual snapshot quota is SnapshotQuotaExceededError, saying what to do', async () => {
    // Prepare
    for (let i = 0; i < 100; i += 1) {
      aws.rds.addSnapshot({ id: `stepops-datizmo-predeploy-${i}`, region: REGION, dbInstance: 'datizmo-db' });
    }

    // Act
    const refused = await rds('stepops-datizmo-database-3').catch((e: Error) => e);

    // Assess
    expect(refused).toBeInstanceOf(SnapshotQuotaExceededError);
    expect((refused as Error).message).toMatch(
      /quota of manual snapshots.*100 by default.*delete old snapshots/,
    );
  });

  it('AWS status reads are paced at 2 s at most', () => {
    expect(new AwsCopyService().statusPaceMs).toBeGreaterThanOrEqual(2_000);
  });
});
