import {
  DescribeAddressesCommand,
  DescribeInstanceStatusCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { findTarget } from '../../../shared/config/registry.ts';
import { Ec2InstanceOperations } from '../../../shared/drivers/aws/ec2-instance-operations.ts';
import { RdsRestorer } from '../../../shared/drivers/aws/rds-restorer.ts';
import { S3DumpLocator } from '../../../shared/drivers/aws/s3-dump-locator.ts';
import { SfnTaskAnswerer } from '../../../shared/drivers/aws/sfn-task-answerer.ts';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const rds = mockClient(RDSClient);
const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);

beforeEach(() => {
  for (const mock of [ec2, ssm, rds, sfn, s3]) mock.reset();
});

const notFound = (name: string) => Object.assign(new Error(name), { name });

describe('Ec2InstanceOperations', () => {
  const ops = new Ec2InstanceOperations({
    ec2: () => new EC2Client({ region: 'eu-west-1' }),
    ssm: () => new SSMClient({ region: 'eu-west-1' }),
  });

  it('reads readiness in chunks of 100 instance ids (and 50 for the agent), keeping the order asked', async () => {
    // Prepare
    const ids = Array.from({ length: 130 }, (_, i) => `i-${String(i).padStart(17, '0')}`);
    ec2.on(DescribeInstanceStatusCommand).callsFake((input: { InstanceIds: string[] }) => ({
      InstanceStatuses: input.InstanceIds.map((id) => ({
        InstanceId: id,
        InstanceState: { Name: 'running' },
        InstanceStatus: { Status: 'ok' },
        SystemStatus: { Status: id.endsWith('7') ? 'impaired' : 'ok' },
      })),
    }));
    ssm.on(DescribeInstanceInformationCommand).callsFake((input: { Filters: { Values: string[] }[] }) => ({
      InstanceInformationList: (input.Filters[0]?.Values ?? []).map((id) => ({
        InstanceId: id,
        PingStatus: 'Online',
      })),
    }));

    // Act
    const readiness = await ops.readiness('eu-west-1', ids);

    // Assess
    const statusCalls = ec2.commandCalls(DescribeInstanceStatusCommand).map((c) => c.args[0].input);
    expect(statusCalls.map((c) => c.InstanceIds?.length)).toEqual([100, 30]);
    expect(statusCalls[0]).toMatchObject({ IncludeAllInstances: true });
    expect(
      ssm
        .commandCalls(DescribeInstanceInformationCommand)
        .map((c) => c.args[0].input.Filters?.[0]?.Values?.length),
    ).toEqual([50, 50, 30]);
    expect(readiness.map((r) => r.id)).toEqual(ids);
    expect(readiness.find((r) => r.id.endsWith('7'))?.statusOk).toBe(false);
    expect(readiness[0]).toEqual({ id: ids[0], state: 'running', statusOk: true, agentOnline: true });
  });

  it('treats a missing snapshot, launch template or Elastic IP as absent, and rethrows other errors', async () => {
    // Prepare
    ec2.on(DescribeSnapshotsCommand).rejects(notFound('InvalidSnapshot.NotFound'));
    ec2.on(DescribeLaunchTemplatesCommand).rejects(notFound('InvalidLaunchTemplateId.NotFound'));
    ec2.on(DescribeAddressesCommand).rejects(notFound('UnauthorizedOperation'));

    // Act / Assess
    await expect(
      ops.findSnapshot('eu-west-1', { snapshotId: 'snap-0123456789abcdef0' }),
    ).resolves.toBeUndefined();
    await expect(ops.findLaunchTemplate('eu-west-1', 'lt-0123456789abcdef0')).resolves.toBeUndefined();
    await expect(ops.findAddress('eu-west-1', 'eipalloc-0123456789abcdef0')).rejects.toThrow(
      'UnauthorizedOperation',
    );
  });

  it('finds the newest completed stepops snapshot of a volume', async () => {
    // Prepare
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0old', State: 'completed', StartTime: new Date('2026-01-01') },
        { SnapshotId: 'snap-0new', State: 'completed', StartTime: new Date('2026-01-03') },
      ],
    });

    // Act
    const found = await ops.findSnapshot('eu-west-1', { volumeId: 'vol-0abc', target: 'shop' });

    // Assess
    expect(found?.snapshotId).toBe('snap-0new');
    expect(ec2.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input).toEqual({
      OwnerIds: ['self'],
      Filters: [
        { Name: 'volume-id', Values: ['vol-0abc'] },
        { Name: 'tag:stepops:target', Values: ['shop'] },
        { Name: 'status', Values: ['completed'] },
      ],
    });
  });

  it('launches one instance from a launch template with an idempotency token and the tags on instance and volumes', async () => {
    // Prepare
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0new' }] });

    // Act
    const id = await ops.launch('eu-west-1', {
      launchTemplate: { id: 'lt-0123456789abcdef0', version: '$Default' },
      tags: { 'stepops:target': 'zmanim' },
      clientToken: 'stepops-run-1-replace',
    });

    // Assess
    expect(id).toBe('i-0new');
    expect(ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input).toEqual({
      MinCount: 1,
      MaxCount: 1,
      ClientToken: 'stepops-run-1-replace',
      LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Default' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'stepops:target', Value: 'zmanim' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'stepops:target', Value: 'zmanim' }] },
      ],
    });
  });
});

describe('RdsRestorer', () => {
  const restorer = new RdsRestorer({ rds: () => new RDSClient({ region: 'eu-west-1' }) });

  it('picks the newest stepops-tagged manual snapshot, never an untagged one, even one still creating (issue 18 item 13)', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [
        {
          DBSnapshotIdentifier: 'manual-untagged',
          Status: 'available',
          SnapshotCreateTime: new Date('2026-02-01'),
          TagList: [],
        },
        {
          DBSnapshotIdentifier: 'stepops-datizmo-1',
          Status: 'available',
          SnapshotCreateTime: new Date('2026-01-01'),
          TagList: [{ Key: 'stepops:target', Value: 'datizmo' }],
        },
        {
          DBSnapshotIdentifier: 'stepops-datizmo-2',
          Status: 'creating',
          SnapshotCreateTime: new Date('2026-01-05'),
          TagList: [{ Key: 'stepops:target', Value: 'datizmo' }],
        },
      ],
    });

    // Act
    const found = await restorer.findSnapshot('eu-west-1', { dbInstance: 'datizmo-db', target: 'datizmo' });

    // Assess
    // The newest is still creating: returned as such (the pre-flight stops and says so), never
    // passed over for the older available one.
    expect(found).toEqual({ snapshotId: 'stepops-datizmo-2', status: 'creating', stepops: true });
    expect(rds.commandCalls(DescribeDBSnapshotsCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: 'datizmo-db',
      SnapshotType: 'manual',
    });
  });

  it('says absent for a snapshot that does not exist', async () => {
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound('DBSnapshotNotFoundFault'));
    await expect(restorer.findSnapshot('eu-west-1', { snapshotId: 'nope' })).resolves.toBeUndefined();
  });
});

describe('SfnTaskAnswerer', () => {
  it('sends SendTaskSuccess with JSON output and SendTaskFailure with error and cause', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    const answerer = new SfnTaskAnswerer(new SFNClient({ region: 'eu-west-1' }));

    // Act
    await answerer.succeed('tok', { approved: true });
    await answerer.fail('tok2', 'ApprovalRejectedError', 'rejected by bo');

    // Assess
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: 'tok',
      output: '{"approved":true}',
    });
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual({
      taskToken: 'tok2',
      error: 'ApprovalRejectedError',
      cause: 'rejected by bo',
    });
  });
});

describe('S3DumpLocator', () => {
  it('lists the job prefix page by page and returns the newest dump', async () => {
    // Prepare
    const target = findTarget('docsai');
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'x/20260101T020000Z' }],
        IsTruncated: true,
        NextContinuationToken: 'next',
      })
      .resolves({
        Contents: [{ Key: 'x/20260103T020000Z' }, { Key: 'x/20260102T020000Z' }],
        IsTruncated: false,
      });

    // Act
    const found = await new S3DumpLocator(new S3Client({ region: 'eu-west-1' })).newestDump(
      target,
      'database',
    );

    // Assess
    const calls = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[1]).toMatchObject({ ContinuationToken: 'next' });
    expect(calls[0]?.Prefix).toMatch(/docsai\/database\/$/);
    expect(found?.uri).toMatch(/\/20260103T020000Z$/);
  });
});
