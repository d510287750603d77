/**
 * The backup AWS adapters on exact command inputs (aws-sdk-client-mock): EBS, RDS and AWS Backup
 * copies, the S3 dump store and the RDS scratch instances (the DynamoDB catalogue runs on dynalite in
 * dynamo-backup-catalogue.test.ts); throttling,
 * a snapshot stuck in `pending`, `error` states, and deletions refused.
 */
import {
  BackupClient,
  DeleteRecoveryPointCommand,
  DescribeBackupJobCommand,
  DescribeRecoveryPointCommand,
  ListRecoveryPointsByBackupVaultCommand,
  ListTagsCommand,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import {
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateDBSnapshotCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BackupThrottledError, NotStepopsCopyError } from '../../../shared/backup/errors.ts';
import { AwsCopyService, isThrottling } from '../../../shared/drivers/aws/aws-copy-service.ts';
import { RdsScratchDatabases } from '../../../shared/drivers/aws/rds-scratch-databases.ts';
import { S3ObjectStore, taggingHeader } from '../../../shared/drivers/aws/s3-object-store.ts';
import type { CopyScope } from '../../../shared/drivers/ports.ts';

const ec2 = mockClient(EC2Client);
const rds = mockClient(RDSClient);
const backup = mockClient(BackupClient);
const s3 = mockClient(S3Client);

process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

beforeEach(() => {
  ec2.reset();
  rds.reset();
  backup.reset();
  s3.reset();
});

const TAGS = { 'stepops:target': 'shop', 'stepops:backup': 'volumes', 'stepops:run': 'run-1' };
const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const EBS_SCOPE: CopyScope = { kind: 'ebs-snapshot', target: 'shop', backup: 'volumes', region: 'eu-west-1' };
const throttled = () => Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });

describe('AwsCopyService: EBS', () => {
  it('snapshots every volume of each instance with the stepops tags at creation', async () => {
    // Prepare
    ec2
      .on(CreateSnapshotsCommand)
      .resolves({ Snapshots: [{ SnapshotId: 'snap-0a' }, { SnapshotId: 'snap-0b' }] });
    const hosts = [{ kind: 'ec2' as const, id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' }];

    // Act
    const ref = await new AwsCopyService().start({
      kind: 'ebs-snapshot',
      hosts,
      tags: TAGS,
      description: 'stepops shop volumes run-1',
    });

    // Assess
    expect(ref).toEqual({
      kind: 'ebs-snapshot',
      resources: [
        { id: 'snap-0a', region: 'eu-west-1' },
        { id: 'snap-0b', region: 'eu-west-1' },
      ],
    });
    expect(ec2).toHaveReceivedCommandWith(CreateSnapshotsCommand, {
      InstanceSpecification: { InstanceId: 'i-0aaaaaaaaaaaaaaa1', ExcludeBootVolume: false },
      Description: 'stepops shop volumes run-1',
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(TAGS) }],
    });
  });

  it('snapshots only the named volumes with CreateSnapshot', async () => {
    // Prepare
    ec2.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-0c' });

    // Act
    const ref = await new AwsCopyService().start({
      kind: 'ebs-snapshot',
      hosts: [],
      volumes: ['vol-0123456789abcdef0'],
      region: 'eu-west-1',
      tags: TAGS,
      description: 'd',
    });

    // Assess
    expect(ref.resources).toEqual([{ id: 'snap-0c', region: 'eu-west-1' }]);
    expect(ec2).toHaveReceivedCommandWith(CreateSnapshotCommand, {
      VolumeId: 'vol-0123456789abcdef0',
      Description: 'd',
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(TAGS) }],
    });
  });

  it('turns throttling into BackupThrottledError, which the workflow retries', async () => {
    // Prepare
    ec2.on(CreateSnapshotsCommand).rejects(throttled());
    const hosts = [{ kind: 'ec2' as const, id: 'i-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' }];

    // Act
    const started = new AwsCopyService().start({ kind: 'ebs-snapshot', hosts, tags: TAGS, description: 'd' });

    // Assess
    await expect(started).rejects.toBeInstanceOf(BackupThrottledError);
    expect(isThrottling({ name: 'ThrottlingException' })).toBe(true);
    expect(isThrottling({ name: 'InvalidParameterValue' })).toBe(false);
  });

  it('reads pending, completed and error snapshots', async () => {
    // Prepare
    ec2
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({ Snapshots: [{ SnapshotId: 'snap-0a', State: 'pending', Progress: '40%' }] })
      .resolvesOnce({ Snapshots: [{ SnapshotId: 'snap-0a', State: 'completed', VolumeSize: 8 }] })
      .resolvesOnce({
        Snapshots: [{ SnapshotId: 'snap-0a', State: 'error', StateMessage: 'internal error' }],
      });
    const copies = new AwsCopyService();
    const ref = { kind: 'ebs-snapshot' as const, resources: [{ id: 'snap-0a', region: 'eu-west-1' }] };

    // Act
    const pending = await copies.status(ref);
    const completed = await copies.status(ref);
    const failed = await copies.status(ref);

    // Assess
    expect(pending).toMatchObject({ state: 'pending', detail: 'snap-0a pending 40%' });
    expect(completed).toMatchObject({ state: 'completed', sizeBytes: 8 * 1024 ** 3 });
    expect(failed).toMatchObject({ state: 'failed', detail: 'snapshot snap-0a error: internal error' });
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, { SnapshotIds: ['snap-0a'] });
  });

  it('lists the tagged snapshots of a job, grouped by run', async () => {
    // Prepare
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        {
          SnapshotId: 'snap-1',
          State: 'completed',
          StartTime: new Date('2026-01-01T02:30:00Z'),
          Tags: tagList(TAGS),
        },
        {
          SnapshotId: 'snap-2',
          State: 'completed',
          StartTime: new Date('2026-01-01T02:30:00Z'),
          Tags: tagList(TAGS),
        },
      ],
    });

    // Act
    const copies = await new AwsCopyService().listTagged(EBS_SCOPE);

    // Assess
    expect(copies).toEqual([
      {
        runId: 'run-1',
        resources: [
          { id: 'snap-1', region: 'eu-west-1' },
          { id: 'snap-2', region: 'eu-west-1' },
        ],
        state: 'completed',
        createdAt: '2026-01-01T02:30:00.000Z',
        sizeBytes: 0,
      },
    ]);
    expect(ec2).toHaveReceivedCommandWith(DescribeSnapshotsCommand, {
      OwnerIds: ['self'],
      Filters: [
        { Name: 'tag:stepops:target', Values: ['shop'] },
        { Name: 'tag:stepops:backup', Values: ['volumes'] },
      ],
    });
  });

  it('deletes a tagged snapshot, and refuses one without the stepops tags', async () => {
    // Prepare
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [{ SnapshotId: 'snap-1', State: 'completed', Tags: tagList(TAGS) }],
    });
    ec2.on(DeleteSnapshotCommand).resolves({});
    const copies = new AwsCopyService();

    // Act
    await copies.remove(
      { kind: 'ebs-snapshot', resources: [{ id: 'snap-1', region: 'eu-west-1' }] },
      EBS_SCOPE,
      'run-1',
    );
    const foreign = copies.remove(
      { kind: 'ebs-snapshot', resources: [{ id: 'snap-9', region: 'eu-west-1' }] },
      EBS_SCOPE,
      'run-1',
    );

    // Assess
    await expect(foreign).rejects.toBeInstanceOf(NotStepopsCopyError);
    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-1' });
  });
});

describe('AwsCopyService: RDS and AWS Backup', () => {
  it('creates a tagged DB snapshot and reads it until available or failed', async () => {
    // Prepare
    rds
      .on(CreateDBSnapshotCommand)
      .resolves({ DBSnapshot: { DBSnapshotIdentifier: 'stepops-datizmo-database-x' } });
    rds
      .on(DescribeDBSnapshotsCommand)
      .resolvesOnce({ DBSnapshots: [{ Status: 'creating', PercentProgress: 10 }] })
      .resolvesOnce({ DBSnapshots: [{ Status: 'available', AllocatedStorage: 20 }] })
      .resolvesOnce({ DBSnapshots: [{ Status: 'failed' }] });
    const copies = new AwsCopyService();
    const tags = { 'stepops:target': 'datizmo', 'stepops:backup': 'database', 'stepops:run': 'r' };

    // Act
    const ref = await copies.start({
      kind: 'rds-snapshot',
      region: 'us-east-1',
      dbInstance: 'datizmo-db',
      snapshotId: 'stepops-datizmo-database-x',
      tags,
    });
    const states = [await copies.status(ref), await copies.status(ref), await copies.status(ref)].map(
      (s) => s.state,
    );

    // Assess
    expect(rds).toHaveReceivedCommandWith(CreateDBSnapshotCommand, {
      DBInstanceIdentifier: 'datizmo-db',
      DBSnapshotIdentifier: 'stepops-datizmo-database-x',
      Tags: tagList(tags),
    });
    expect(states).toEqual(['pending', 'completed', 'failed']);
  });

  it('starts an AWS Backup job per resource and follows it to its recovery point', async () => {
    // Prepare
    backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-1' });
    backup
      .on(DescribeBackupJobCommand)
      .resolvesOnce({ State: 'RUNNING' })
      .resolvesOnce({
        State: 'COMPLETED',
        RecoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1',
        BackupSizeInBytes: 42,
      })
      .resolvesOnce({ State: 'FAILED', StatusMessage: 'role cannot be assumed' });
    const copies = new AwsCopyService();
    const tags = { 'stepops:target': 'full', 'stepops:backup': 'vault', 'stepops:run': 'r' };

    // Act
    const ref = await copies.start({
      kind: 'aws-backup',
      region: 'eu-west-1',
      vault: 'full-vault',
      iamRoleArn: 'arn:aws:iam::123456789012:role/backup',
      resourceArns: ['arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0'],
      tags,
      deleteAfterDays: 7,
      idempotencyToken: 'full-vault-r',
    });
    const running = await copies.status(ref);
    const done = await copies.status(ref);
    const failed = await copies.status(ref);

    // Assess
    expect(backup).toHaveReceivedCommandWith(StartBackupJobCommand, {
      BackupVaultName: 'full-vault',
      ResourceArn: 'arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0',
      IamRoleArn: 'arn:aws:iam::123456789012:role/backup',
      IdempotencyToken: 'full-vault-r-0',
      RecoveryPointTags: tags,
      Lifecycle: { DeleteAfterDays: 7 },
    });
    expect(running.state).toBe('pending');
    expect(done).toMatchObject({
      state: 'completed',
      sizeBytes: 42,
      resources: [{ id: 'arn:aws:ec2:eu-west-1::image/ami-1', region: 'eu-west-1' }],
    });
    expect(failed).toMatchObject({ state: 'failed', detail: 'job-1 FAILED: role cannot be assumed' });
  });

  it('deletes a recovery point only when its tags name the job', async () => {
    // Prepare: points of a resource AWS Backup fully manages (recovery-point ARNs, with tags)
    const RP_1 = 'arn:aws:backup:eu-west-1:123456789012:recovery-point:rp-1';
    const RP_2 = 'arn:aws:backup:eu-west-1:123456789012:recovery-point:rp-2';
    backup.on(ListRecoveryPointsByBackupVaultCommand).resolves({
      RecoveryPoints: [
        { RecoveryPointArn: RP_1, Status: 'COMPLETED' },
        { RecoveryPointArn: RP_2, Status: 'COMPLETED' },
      ],
    });
    backup
      .on(ListTagsCommand, { ResourceArn: RP_1 })
      .resolves({ Tags: { 'stepops:target': 'full', 'stepops:backup': 'vault', 'stepops:run': 'r1' } })
      .on(ListTagsCommand, { ResourceArn: RP_2 })
      .resolves({ Tags: { owner: 'someone-else' } });
    backup.on(DeleteRecoveryPointCommand).resolves({});
    // Deleted: DescribeRecoveryPoint no longer finds it (AWS Backup API reference, DescribeRecoveryPoint).
    backup
      .on(DescribeRecoveryPointCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));
    const scope: CopyScope = {
      kind: 'aws-backup',
      target: 'full',
      backup: 'vault',
      region: 'eu-west-1',
      vault: 'full-vault',
    };
    const copies = new AwsCopyService();

    // Act
    await copies.remove(
      { kind: 'aws-backup', vault: 'full-vault', resources: [{ id: RP_1, region: 'eu-west-1' }] },
      scope,
      'r1',
    );
    const foreign = copies.remove(
      { kind: 'aws-backup', vault: 'full-vault', resources: [{ id: RP_2 }] },
      scope,
      'r1',
    );

    // Assess
    await expect(foreign).rejects.toBeInstanceOf(NotStepopsCopyError);
    expect(backup).toHaveReceivedCommandTimes(DeleteRecoveryPointCommand, 1);
    expect(backup).toHaveReceivedCommandWith(DeleteRecoveryPointCommand, {
      BackupVaultName: 'full-vault',
      RecoveryPointArn: RP_1,
    });
  });
});

describe('S3ObjectStore', () => {
  it('presigns a PUT with the tags as a signed x-amz-tagging header and no checksum', async () => {
    // Prepare
    const store = new S3ObjectStore({ region: 'eu-west-1' });

    // Act
    const url = new URL(await store.uploadUrl('docsai-backups', 'dumps/docsai/database/x', TAGS, 2100));

    // Assess
    expect(url.host).toBe('docsai-backups.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/dumps/docsai/database/x');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('2100');
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('x-amz-tagging');
    expect(url.searchParams.has('x-amz-tagging')).toBe(false);
    expect([...url.searchParams.keys()].some((k) => k.toLowerCase().includes('checksum'))).toBe(false);
    expect(taggingHeader(TAGS)).toBe('stepops%3Atarget=shop&stepops%3Abackup=volumes&stepops%3Arun=run-1');
  });

  it('reads an object with its tags, and answers undefined for a missing one', async () => {
    // Prepare
    s3.on(HeadObjectCommand, { Key: 'k1' })
      .resolves({ ContentLength: 10, LastModified: new Date('2026-01-01T00:00:00Z') })
      .on(HeadObjectCommand, { Key: 'missing' })
      .rejects(
        Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
      );
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'stepops:run', Value: 'r1' }] });
    const store = new S3ObjectStore({ region: 'eu-west-1' });

    // Act
    const found = await store.head('b', 'k1');
    const missing = await store.head('b', 'missing');

    // Assess
    expect(found).toEqual({
      key: 'k1',
      sizeBytes: 10,
      lastModified: '2026-01-01T00:00:00.000Z',
      tags: { 'stepops:run': 'r1' },
    });
    expect(missing).toBeUndefined();
  });

  it('lists every page under a prefix', async () => {
    // Prepare
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'p/a', Size: 1 }], IsTruncated: true, NextContinuationToken: 't2' })
      .resolvesOnce({ Contents: [{ Key: 'p/b', Size: 2 }], IsTruncated: false });
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [] });

    // Act
    const objects = await new S3ObjectStore({ region: 'eu-west-1' }).list('b', 'p/');

    // Assess
    expect(objects.map((o) => o.key)).toEqual(['p/a', 'p/b']);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: 'b',
      Prefix: 'p/',
      ContinuationToken: 't2',
    });
  });
});

describe('RdsScratchDatabases', () => {
  it('restores a snapshot to a private tagged instance and deletes only a tagged one', async () => {
    // Prepare
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({});
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'stepops-rt-datizmo-1' })
      .resolves({
        DBInstances: [
          { DBInstanceStatus: 'available', TagList: [{ Key: 'stepops:restore-test', Value: 'true' }] },
        ],
      })
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'production-db' })
      .resolves({ DBInstances: [{ DBInstanceStatus: 'available', TagList: [] }] });
    rds.on(DeleteDBInstanceCommand).resolves({});
    const scratch = new RdsScratchDatabases();

    // Act
    const db = await scratch.restore({
      region: 'us-east-1',
      snapshotId: 'stepops-datizmo-database-x',
      instanceId: 'stepops-rt-datizmo-1',
      instanceClass: 'db.t4g.micro',
      tags: { 'stepops:target': 'datizmo' },
    });
    await scratch.remove(db);
    const refused = scratch.remove({ id: 'production-db', region: 'us-east-1' });

    // Assess
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBInstanceIdentifier: 'stepops-rt-datizmo-1',
      DBSnapshotIdentifier: 'stepops-datizmo-database-x',
      DBInstanceClass: 'db.t4g.micro',
      PubliclyAccessible: false,
      Tags: [
        { Key: 'stepops:target', Value: 'datizmo' },
        { Key: 'stepops:restore-test', Value: 'true' },
      ],
    });
    await expect(refused).rejects.toBeInstanceOf(NotStepopsCopyError);
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'stepops-rt-datizmo-1',
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
  });
});
