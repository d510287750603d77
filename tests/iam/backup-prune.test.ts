/**
 * The prune-backups handler on each kind of copy it deletes (a dump in S3, an RDS snapshot, an EBS
 * recovery point of AWS Backup), its calls recorded and checked against the function's IAM policy
 * as the stacks render it. AWS is mocked at the command level, answering as its API references
 * document (cited where a behaviour matters).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BackupClient,
  DeleteRecoveryPointCommand,
  DescribeRecoveryPointCommand,
  ListRecoveryPointsByBackupVaultCommand,
  ListTagsCommand,
} from '@aws-sdk/client-backup';
import { DeleteDBSnapshotCommand, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

/** The environment before this file: restored after it, as the next file in this worker expects it. */
const saved = vi.hoisted(() => {
  const before = { ...process.env };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  return before;
});

import { handler } from '../../functions/prune-backups/handler.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import type { CatalogueEntry } from '../../shared/drivers/ports.ts';
import { createLambdaContext, withinInvocation } from '../../shared/engine/index.ts';
import { expectRecordedCallsAllowed } from './record-calls.ts';

const REGION = 'eu-west-1';
const TARGET = 'vaulted';
const BUCKET = 'vaulted-dumps';
const VAULT = 'stepops-vault';
const DB = 'vaulted-db';
const DAY = 86_400_000;

const s3 = mockClient(S3Client);
const rds = mockClient(RDSClient);
const backup = mockClient(BackupClient);
const catalogue = new FileBackupCatalogue();
let home: string;

/** What the account holds: objects, DB snapshots and recovery points, with their tags. */
const world = {
  objects: new Map<string, Record<string, string>>(),
  dbSnapshots: new Map<string, Record<string, string>>(),
  points: new Map<string, { status: string; created: Date }>(),
  /** How AWS Backup answers DeleteRecoveryPoint: deleting, or 200 leaving the point EXPIRED. */
  deletion: 'deletes' as 'deletes' | 'expires',
};

const tagsOf = (run: string, backupName: string) => ({
  'stepops:target': TARGET,
  'stepops:backup': backupName,
  'stepops:run': run,
});
const asList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const notFound = (name: string, message: string, status = 404) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

function fakeAws(): void {
  s3.reset();
  rds.reset();
  backup.reset();
  s3.on(ListObjectsV2Command).callsFake((input) => ({
    Contents: [...world.objects.keys()]
      .filter((k) => k.startsWith(`${input.Bucket}/${input.Prefix ?? ''}`))
      .map((k) => ({ Key: k.slice(input.Bucket.length + 1), Size: 10, LastModified: new Date() })),
    IsTruncated: false,
  }));
  s3.on(GetObjectTaggingCommand).callsFake((input) => ({
    TagSet: asList(world.objects.get(`${input.Bucket}/${input.Key}`) ?? {}),
  }));
  s3.on(HeadObjectCommand).callsFake((input) => {
    if (!world.objects.has(`${input.Bucket}/${input.Key}`)) throw notFound('NotFound', 'Not Found');
    return { ContentLength: 10, LastModified: new Date() };
  });
  s3.on(DeleteObjectCommand).callsFake((input) => {
    world.objects.delete(`${input.Bucket}/${input.Key}`);
    return {};
  });
  rds.on(DescribeDBSnapshotsCommand).callsFake((input) => ({
    DBSnapshots: [...world.dbSnapshots]
      .filter(([id]) => !input.DBSnapshotIdentifier || id === input.DBSnapshotIdentifier)
      .map(([DBSnapshotIdentifier, tags]) => ({
        DBSnapshotIdentifier,
        DBInstanceIdentifier: DB,
        Status: 'available',
        SnapshotCreateTime: new Date(),
        TagList: asList(tags),
      })),
  }));
  rds.on(DeleteDBSnapshotCommand).callsFake((input) => {
    world.dbSnapshots.delete(input.DBSnapshotIdentifier);
    return {};
  });
  backup.on(ListRecoveryPointsByBackupVaultCommand).callsFake(() => ({
    RecoveryPoints: [...world.points].map(([RecoveryPointArn, p]) => ({
      RecoveryPointArn,
      Status: p.status,
      CreationDate: p.created,
      ResourceType: 'EBS',
    })),
  }));
  // "ListTags ... only works for resource types that support full AWS Backup management" (AWS
  // Backup API reference, ListTags): an EBS or EC2 point is refused.
  backup.on(ListTagsCommand).callsFake((input) => {
    if (!String(input.ResourceArn).startsWith('arn:aws:backup:')) {
      throw notFound('InvalidParameterValueException', 'Resource type is not supported for ListTags', 400);
    }
    return { Tags: {} };
  });
  backup.on(DescribeRecoveryPointCommand).callsFake((input) => {
    const point = world.points.get(String(input.RecoveryPointArn));
    if (!point) throw notFound('ResourceNotFoundException', 'Recovery point not found');
    return { RecoveryPointArn: input.RecoveryPointArn, Status: point.status };
  });
  // "When an IAM role's permissions are insufficient to call this API, the service sends back an
  // HTTP 200 response with an empty HTTP body, but the recovery point is not deleted. Instead, it
  // enters an EXPIRED state." (AWS Backup API reference, DeleteRecoveryPoint)
  backup.on(DeleteRecoveryPointCommand).callsFake((input) => {
    const arn = String(input.RecoveryPointArn);
    if (world.deletion === 'expires') {
      const point = world.points.get(arn);
      if (point) point.status = 'EXPIRED';
    } else {
      world.points.delete(arn);
    }
    return {};
  });
}

async function entry(backupName: string, runId: string, daysAgo: number, resources: string[]) {
  const startedAt = new Date(Date.now() - daysAgo * DAY).toISOString();
  const kind: CatalogueEntry['kind'] =
    backupName === 'database' ? 'dump' : backupName === 'rds' ? 'rds-snapshot' : 'aws-backup';
  await catalogue.put({
    target: TARGET,
    backup: backupName,
    runId,
    kind,
    location: kind === 'dump' ? `s3://${BUCKET}/${resources[0]}` : String(resources[0]),
    resources: resources.map((id) => ({ id, region: REGION })),
    startedAt,
    finishedAt: startedAt,
    outcome: 'good',
  });
}

function prune(backupName: string, runId: string) {
  const functionName = 'prune-backups';
  return withinInvocation({ functionName }, () =>
    handler(
      { target: TARGET, runId, backup: backupName, lastOutcome: 'good', dryRun: false } as never,
      createLambdaContext({
        arn: `arn:aws:lambda:${REGION}:123456789012:function:${functionName}`,
        timeoutSeconds: 120,
      }),
    ),
  ) as Promise<{ deleted: { runId: string }[] }>;
}

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'stepops-iam-prune-'));
  process.env.STEPOPS_HOME = home;
  registerTarget({
    name: TARGET,
    description: 'a target with one backup of each kind the prune deletes',
    hosts: {
      type: 'ec2',
      region: REGION,
      tags: { App: TARGET },
      user: 'ubuntu',
      workingDirectory: '/srv/app',
    },
    backup: [
      {
        name: 'database',
        type: 'dump',
        script: 'pg_dump app > "$STEPOPS_DUMP_FILE"',
        timeout: 600,
        bucket: BUCKET,
        prefix: 'dumps',
        schedule: 'cron(0 2 * * ? *)',
        retention: { count: 1 },
      },
      {
        name: 'rds',
        type: 'rds-snapshot',
        dbInstance: DB,
        region: REGION,
        schedule: 'cron(0 3 * * ? *)',
        retention: { count: 1 },
      },
      {
        name: 'volumes',
        type: 'aws-backup',
        vault: VAULT,
        iamRoleArn: 'arn:aws:iam::123456789012:role/stepops-backup',
        resourceArns: [`arn:aws:ec2:${REGION}:123456789012:volume/vol-0123456789abcdef0`],
        schedule: 'cron(0 4 * * ? *)',
        retention: { count: 1 },
      },
    ],
  });
});
afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  clearRegisteredTargets();
  s3.restore();
  rds.restore();
  backup.restore();
  await rm(home, { recursive: true, force: true });
});
beforeEach(async () => {
  // Each test a fresh catalogue and lease directory, as each has a fresh account: the backup
  // lease an earlier prune took would otherwise still hold the job.
  process.env.STEPOPS_HOME = await mkdtemp(path.join(home, 'test-'));
  world.objects.clear();
  world.dbSnapshots.clear();
  world.points.clear();
  world.deletion = 'deletes';
  fakeAws();
});

describe('prune-backups on AWS', () => {
  it('deletes a dump beyond the retention under its job prefix, after checking its tags', async () => {
    // Prepare: two good dumps, the older beyond `count: 1`
    const older = `dumps/${TARGET}/database/run-d1.dump`;
    const newer = `dumps/${TARGET}/database/run-d2.dump`;
    world.objects.set(`${BUCKET}/${older}`, tagsOf('run-d1', 'database'));
    world.objects.set(`${BUCKET}/${newer}`, tagsOf('run-d2', 'database'));
    await entry('database', 'run-d1', 3, [older]);
    await entry('database', 'run-d2', 1, [newer]);

    // Act
    const result = await prune('database', 'run-d2');

    // Assess
    expect(result.deleted.map((d) => d.runId)).toEqual(['run-d1']);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: BUCKET, Key: older });
    expect(world.objects.has(`${BUCKET}/${newer}`)).toBe(true);
    expect((await catalogue.get(TARGET, 'database', 'run-d1'))?.outcome).toBe('deleted');
  });

  it('lists the RDS snapshots of the job by its DB instance, then deletes the one beyond the retention', async () => {
    // Prepare
    world.dbSnapshots.set(`stepops-${TARGET}-rds-1`, tagsOf('run-r1', 'rds'));
    world.dbSnapshots.set(`stepops-${TARGET}-rds-2`, tagsOf('run-r2', 'rds'));
    await entry('rds', 'run-r1', 3, [`stepops-${TARGET}-rds-1`]);
    await entry('rds', 'run-r2', 1, [`stepops-${TARGET}-rds-2`]);

    // Act
    const result = await prune('rds', 'run-r2');

    // Assess
    expect(result.deleted.map((d) => d.runId)).toEqual(['run-r1']);
    expect(rds).toHaveReceivedCommandWith(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: DB });
    expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
      DBSnapshotIdentifier: `stepops-${TARGET}-rds-1`,
    });
    expect([...world.dbSnapshots.keys()]).toEqual([`stepops-${TARGET}-rds-2`]);
  });

  it('deletes an EBS recovery point the catalogue names without asking AWS Backup for its tags, and records it once it is gone', async () => {
    // Prepare: two EBS points (their ARNs are the snapshots'), the older beyond `count: 1`
    const older = `arn:aws:ec2:${REGION}::snapshot/snap-0aaaaaaaaaaaaaaa1`;
    const newer = `arn:aws:ec2:${REGION}::snapshot/snap-0aaaaaaaaaaaaaaa2`;
    world.points.set(older, { status: 'COMPLETED', created: new Date(Date.now() - 3 * DAY) });
    world.points.set(newer, { status: 'COMPLETED', created: new Date(Date.now() - DAY) });
    await entry('volumes', 'run-v1', 3, [older]);
    await entry('volumes', 'run-v2', 1, [newer]);

    // Act
    const result = await prune('volumes', 'run-v2');

    // Assess
    expect(result.deleted.map((d) => d.runId)).toEqual(['run-v1']);
    expect(backup).toHaveReceivedCommandTimes(ListTagsCommand, 0);
    expect(backup).toHaveReceivedCommandWith(DeleteRecoveryPointCommand, {
      BackupVaultName: VAULT,
      RecoveryPointArn: older,
    });
    expect(world.points.has(older)).toBe(false);
    expect((await catalogue.get(TARGET, 'volumes', 'run-v1'))?.outcome).toBe('deleted');
  });

  it('does not record a recovery point deleted when AWS Backup answered but left it EXPIRED, and says why', async () => {
    // Prepare: the deletion "succeeds" with 200 and leaves the point EXPIRED
    const older = `arn:aws:ec2:${REGION}::snapshot/snap-0bbbbbbbbbbbbbbb1`;
    const newer = `arn:aws:ec2:${REGION}::snapshot/snap-0bbbbbbbbbbbbbbb2`;
    world.points.set(older, { status: 'COMPLETED', created: new Date(Date.now() - 3 * DAY) });
    world.points.set(newer, { status: 'COMPLETED', created: new Date(Date.now() - DAY) });
    world.deletion = 'expires';
    await entry('volumes', 'run-x1', 3, [older]);
    await entry('volumes', 'run-x2', 1, [newer]);

    // Act
    const act = prune('volumes', 'run-x2');

    // Assess
    await expect(act).rejects.toThrow(
      /snap-0bbbbbbbbbbbbbbb1 answered, but the point is EXPIRED: not deleted/,
    );
    expect(world.points.get(older)?.status).toBe('EXPIRED');
    // Never recorded deleted: the row stays marked mid-deletion, for the next prune to reconcile.
    expect(await catalogue.get(TARGET, 'volumes', 'run-x1')).toMatchObject({
      outcome: 'deleting',
      deletingFrom: 'good',
    });
  });

  it("sends only calls each function's IAM policy allows, as the stacks render it", async () => {
    // Assess: every call of the tests above (the check also runs after the file)
    await expectRecordedCallsAllowed();
  }, 600_000);
});
