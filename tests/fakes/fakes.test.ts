/**
 * The AWS fakes answer as AWS documents, through the real SDK v3 clients (each case names the
 * behaviour its module cites).
 */
import {
  BackupClient,
  DeleteRecoveryPointCommand,
  DescribeBackupJobCommand,
  DescribeRecoveryPointCommand,
  ListTagsCommand,
  StartBackupJobCommand,
} from '@aws-sdk/client-backup';
import {
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateDBSnapshotCommand, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AwsFakes, installAwsFakes } from './index.ts';

process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const REGION = 'eu-west-1';
let aws: AwsFakes;
beforeEach(() => {
  aws = installAwsFakes();
});
afterEach(() => aws.restore());

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: Error & { $metadata?: { httpStatusCode?: number } }) => ({
      name: e.name,
      status: e.$metadata?.httpStatusCode,
      message: e.message,
    }),
  );

describe('S3: a bucket has one region', () => {
  it('refuses a request from another region (PermanentRedirect, or AuthorizationHeaderMalformed from us-east-1) and serves its own', async () => {
    // Prepare
    aws.s3.addBucket('dumps', REGION);
    const put = new PutObjectCommand({ Bucket: 'dumps', Key: 'a', Body: 'x' });

    // Act
    const fromFrankfurt = await errorOf(new S3Client({ region: 'eu-central-1' }).send(put));
    const fromVirginia = await errorOf(new S3Client({ region: 'us-east-1' }).send(put));
    await new S3Client({ region: REGION }).send(put);
    const redirected = await new S3Client({ region: 'eu-central-1', followRegionRedirects: true }).send(
      new HeadObjectCommand({ Bucket: 'dumps', Key: 'a' }),
    );

    // Assess
    expect(fromFrankfurt).toMatchObject({ name: 'PermanentRedirect', status: 301 });
    expect(fromVirginia).toMatchObject({ name: 'AuthorizationHeaderMalformed', status: 400 });
    expect(fromVirginia?.message).toContain("expecting 'eu-west-1'");
    expect(aws.s3.buckets.get('dumps')?.objects.has('a')).toBe(true);
    expect(redirected.ContentLength).toBe(1);
  });

  it('refuses a presigned URL signed for another region, and accepts one signed for the bucket’s', async () => {
    // Prepare
    aws.s3.addBucket('dumps', REGION);
    const sign = (region: string) =>
      getSignedUrl(new S3Client({ region }), new PutObjectCommand({ Bucket: 'dumps', Key: 'k' }), {
        expiresIn: 60,
      });

    // Act
    const wrong = aws.s3.fetch(await sign('us-east-1'), { method: 'PUT', body: 'dump' });
    const elsewhere = aws.s3.fetch(await sign('ap-south-1'), { method: 'PUT', body: 'dump' });
    const right = aws.s3.fetch(await sign(REGION), { method: 'PUT', body: 'dump' });

    // Assess
    expect(wrong).toMatchObject({
      status: 400,
      code: 'AuthorizationQueryParametersError',
      bucketRegion: REGION,
    });
    expect(elsewhere).toMatchObject({ status: 301, code: 'PermanentRedirect' });
    expect(right.status).toBe(200);
    expect(aws.s3.buckets.get('dumps')?.objects.get('k')?.body).toBe('dump');
  });
});

describe('EC2', () => {
  const ec2 = () => new EC2Client({ region: REGION });

  it('a snapshot just created answers InvalidSnapshot.NotFound for a while, then pending, then completed', async () => {
    // Prepare
    aws.ec2.switches.invisibleReads = 2;
    aws.ec2.addVolume({ id: 'vol-1', region: REGION, size: 8, instanceId: 'i-1', device: '/dev/xvda' });
    const { Snapshots = [] } = await ec2().send(
      new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-1' } }),
    );
    const id = Snapshots[0]?.SnapshotId as string;
    const read = () => ec2().send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }));

    // Act
    const first = await errorOf(read());
    const second = await errorOf(read());
    const states = [(await read()).Snapshots?.[0]?.State, (await read()).Snapshots?.[0]?.State];

    // Assess
    expect(first?.name).toBe('InvalidSnapshot.NotFound');
    expect(second?.name).toBe('InvalidSnapshot.NotFound');
    expect(states).toEqual(['pending', 'completed']);
  });

  it('refuses to delete a snapshot an AMI uses (InvalidSnapshot.InUse) and a sixth concurrent snapshot of a volume', async () => {
    // Prepare
    aws.ec2.addVolume({ id: 'vol-1', region: REGION, size: 8, instanceId: 'i-1', device: '/dev/xvda' });
    aws.ec2.addSnapshot({ id: 'snap-ami', region: REGION, tags: {} });
    aws.ec2.images.set('ami-1', { id: 'ami-1', snapshotIds: ['snap-ami'] });
    const create = () =>
      ec2().send(new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-1' } }));
    for (let i = 0; i < 5; i += 1) await create();

    // Act
    const inUse = await errorOf(ec2().send(new DeleteSnapshotCommand({ SnapshotId: 'snap-ami' })));
    const sixth = await errorOf(create());

    // Assess
    expect(inUse?.name).toBe('InvalidSnapshot.InUse');
    expect(aws.ec2.snapshots.has('snap-ami')).toBe(true);
    expect(sixth?.name).toBe('ConcurrentSnapshotLimitExceeded');
  });
});

describe('RDS', () => {
  const rds = () => new RDSClient({ region: REGION });
  const snapshot = (id: string) =>
    rds().send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'db', DBSnapshotIdentifier: id }));

  it('CreateDBSnapshot needs an available instance; a snapshot stays creating for a while', async () => {
    // Prepare: a snapshot stays creating for two calls that look at it (the refusal is one)
    aws.rds.addInstance({ id: 'db', region: REGION });
    aws.rds.switches.creatingReads = 2;

    // Act
    await snapshot('s1');
    const whileBackingUp = await errorOf(snapshot('s2'));
    const states = [];
    for (let i = 0; i < 2; i += 1) {
      const { DBSnapshots = [] } = await rds().send(
        new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 's1' }),
      );
      states.push(DBSnapshots[0]?.Status);
    }
    await snapshot('s3');

    // Assess
    expect(whileBackingUp?.name).toBe('InvalidDBInstanceStateFault');
    expect(states).toEqual(['creating', 'available']);
    expect(aws.rds.snapshots.has('s3')).toBe(true);
  });

  it('refuses a manual snapshot over the quota (SnapshotQuotaExceeded)', async () => {
    // Prepare
    aws.rds.addInstance({ id: 'db', region: REGION });
    for (let i = 0; i < 100; i += 1)
      aws.rds.addSnapshot({ id: `old-${i}`, region: REGION, dbInstance: 'db' });

    // Act
    const refused = await errorOf(snapshot('one-more'));

    // Assess
    expect(refused?.name).toBe('SnapshotQuotaExceededFault');
  });
});

describe('AWS Backup', () => {
  it('ListTags fails on an EBS recovery point; a DeleteRecoveryPoint refused for permissions answers 200 and leaves it EXPIRED', async () => {
    // Prepare
    aws.backup.switches.deleteDenied = true;
    const client = new BackupClient({ region: REGION });
    const { BackupJobId } = await client.send(
      new StartBackupJobCommand({
        BackupVaultName: 'vault',
        ResourceArn: `arn:aws:ec2:${REGION}:123456789012:volume/vol-1`,
        IamRoleArn: 'arn:aws:iam::123456789012:role/backup',
      }),
    );
    let arn: string | undefined;
    while (!arn) arn = (await client.send(new DescribeBackupJobCommand({ BackupJobId }))).RecoveryPointArn;

    // Act
    const tags = await errorOf(client.send(new ListTagsCommand({ ResourceArn: arn })));
    const deleted = await errorOf(
      client.send(new DeleteRecoveryPointCommand({ BackupVaultName: 'vault', RecoveryPointArn: arn })),
    );
    const after = await client.send(
      new DescribeRecoveryPointCommand({ BackupVaultName: 'vault', RecoveryPointArn: arn }),
    );

    // Assess
    expect(arn).toMatch(/^arn:aws:ec2:eu-west-1::snapshot\/snap-/);
    expect(tags?.name).toBe('InvalidParameterValueException');
    expect(deleted).toBeUndefined(); // no error: nothing says the delete did not happen
    expect(after.Status).toBe('EXPIRED');
  });
});

describe('SSM', () => {
  const ssm = () => new SSMClient({ region: REGION });

  it('an invocation does not exist right after SendCommand; its output is the first 24,000 / 8,000 characters', async () => {
    // Prepare
    aws.restore();
    aws = installAwsFakes({
      ssm: { run: () => ({ code: 0, stdout: 'o'.repeat(30_000), stderr: 'e'.repeat(9_000) }) },
    });
    const { Command } = await ssm().send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-1'],
        Parameters: { commands: ['x'] },
      }),
    );
    const read = () =>
      ssm().send(new GetCommandInvocationCommand({ CommandId: Command?.CommandId, InstanceId: 'i-1' }));

    // Act
    const early = await errorOf(read());
    const done = await read();

    // Assess
    expect(early?.name).toBe('InvocationDoesNotExist');
    expect(done.StandardOutputContent).toHaveLength(24_000);
    expect(done.StandardErrorContent).toHaveLength(8_000);
  });

  it('ListCommands takes InvokedAfter as 2021-07-07T00:00:00Z and refuses milliseconds', async () => {
    // Act
    const good = await ssm().send(
      new ListCommandsCommand({ Filters: [{ key: 'InvokedAfter', value: '2021-07-07T00:00:00Z' }] }),
    );
    const bad = await errorOf(
      ssm().send(
        new ListCommandsCommand({ Filters: [{ key: 'InvokedAfter', value: '2021-07-07T00:00:00.000Z' }] }),
      ),
    );

    // Assess
    expect(good.Commands).toEqual([]);
    expect(bad?.name).toBe('ValidationException');
  });

  it('throttles a burst of reads beyond what it allows at once', async () => {
    // Prepare
    aws.ssm.switches.maxInFlight = 3;
    const { Command } = await ssm().send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-1'],
        Parameters: { commands: ['x'] },
      }),
    );

    // Act: ten reads at once
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        errorOf(
          ssm().send(new GetCommandInvocationCommand({ CommandId: Command?.CommandId, InstanceId: 'i-1' })),
        ),
      ),
    );

    // Assess
    expect(results.filter((r) => r?.name === 'ThrottlingException').length).toBeGreaterThanOrEqual(7);
    expect(aws.ssm.peakInFlight.get('GetCommandInvocation')).toBe(10);
  });
});
