/**
 * The five systems' declared backups, each run by the backup workflow on the local engine with the
 * real handlers and the AWS clients mocked at the command level (aws-sdk-client-mock): a small
 * in-memory EC2, RDS, SSM and S3 that answer as the real APIs do. The catalogue is the file one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeInstancesCommand,
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
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
});

import { createLocalBackupEngine } from '../../functions/index.ts';
import { ALL_BACKUP_FACTORIES } from '../../shared/backup/all-drivers.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { LastGoodCopyError } from '../../shared/backup/errors.ts';
import { pruneBackupsStep } from '../../shared/backup/steps.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import type { LocalEngine } from '../../shared/engine/index.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';
import '../iam/record-calls.ts';

const ec2 = mockClient(EC2Client);
const rds = mockClient(RDSClient);
const ssm = mockClient(SSMClient);
const s3 = mockClient(S3Client);

const INSTANCE = 'i-0123456789abcdef0';
let root: string;
let engine: LocalEngine;
const catalogue = new FileBackupCatalogue();

/** What the fakes hold: snapshots and objects with their tags, and the scripts SSM was sent. */
const world = {
  snapshots: new Map<string, { tags: Record<string, string>; reads: number; start: Date }>(),
  dbSnapshots: new Map<string, Record<string, string>>(),
  objects: new Map<string, { size: number; tags: Record<string, string> }>(),
  scripts: [] as string[],
  throttleNextCreate: false,
};

function exported(script: string, name: string): string {
  return new RegExp(`^export ${name}='([^']*)'$`, 'm').exec(script)?.[1] ?? '';
}

function fakeAws(): void {
  ec2.reset();
  rds.reset();
  ssm.reset();
  s3.reset();
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: INSTANCE }] }] });
  ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online' }],
  });
  ec2.on(CreateSnapshotsCommand).callsFake((input) => {
    if (world.throttleNextCreate) {
      world.throttleNextCreate = false;
      throw Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded' });
    }
    const tags = Object.fromEntries(
      input.TagSpecifications[0].Tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]),
    );
    const ids = [`snap-${world.snapshots.size + 1}a`, `snap-${world.snapshots.size + 1}b`];
    for (const id of ids) world.snapshots.set(id, { tags, reads: 0, start: new Date() });
    return { Snapshots: ids.map((SnapshotId) => ({ SnapshotId, State: 'pending' })) };
  });
  ec2.on(DescribeSnapshotsCommand).callsFake((input) => {
    const wanted: [string, { tags: Record<string, string>; reads: number; start: Date }][] = input.SnapshotIds
      ? input.SnapshotIds.map((id: string) => [id, world.snapshots.get(id)])
      : [...world.snapshots].filter(([, s]) =>
          input.Filters.every((f: { Name: string; Values: string[] }) =>
            f.Values.includes(s.tags[f.Name.slice(4)] ?? ''),
          ),
        );
    return {
      Snapshots: wanted.map(([SnapshotId, s]) => {
        s.reads += 1;
        // A snapshot is pending on its first read, then completed.
        return {
          SnapshotId,
          State: s.reads > 1 || !input.SnapshotIds ? 'completed' : 'pending',
          VolumeSize: 8,
          StartTime: s.start,
          Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
        };
      }),
    };
  });
  ec2.on(DeleteSnapshotCommand).callsFake((input) => {
    world.snapshots.delete(input.SnapshotId);
    return {};
  });
  rds.on(CreateDBSnapshotCommand).callsFake((input) => {
    world.dbSnapshots.set(
      input.DBSnapshotIdentifier,
      Object.fromEntries(input.Tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value])),
    );
    return { DBSnapshot: { DBSnapshotIdentifier: input.DBSnapshotIdentifier, Status: 'creating' } };
  });
  rds.on(DescribeDBSnapshotsCommand).callsFake((input) => ({
    DBSnapshots: [...world.dbSnapshots]
      .filter(([id]) => !input.DBSnapshotIdentifier || id === input.DBSnapshotIdentifier)
      .map(([DBSnapshotIdentifier, tags]) => ({
        DBSnapshotIdentifier,
        Status: 'available',
        AllocatedStorage: 20,
        SnapshotCreateTime: new Date(),
        TagList: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      })),
  }));
  // SSM "runs" a dump: the object lands in the bucket with this run's tags, the result line is printed.
  ssm.on(SendCommandCommand).callsFake((input) => {
    const script = input.Parameters.commands[0] as string;
    world.scripts.push(script);
    const uri = exported(script, 'STEPOPS_DUMP_URI');
    world.objects.set(uri.replace(/^s3:\/\//, ''), {
      size: 1234,
      tags: {
        'stepops:target': exported(script, 'STEPOPS_TARGET'),
        'stepops:backup': exported(script, 'STEPOPS_BACKUP'),
        'stepops:run': exported(script, 'STEPOPS_RUN_ID'),
      },
    });
    return { Command: { CommandId: `cmd-${world.scripts.length}` } };
  });
  ssm.on(GetCommandInvocationCommand).resolves({
    Status: 'Success',
    ResponseCode: 0,
    StandardOutputContent: `==> dump\nSTEPOPS_DUMP_RESULT sha256=${'ab'.repeat(32)} size=1234\n`,
    StandardErrorContent: '',
  });
  s3.on(HeadObjectCommand).callsFake((input) => {
    const found = world.objects.get(`${input.Bucket}/${input.Key}`);
    if (!found)
      throw Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    return { ContentLength: found.size, LastModified: new Date() };
  });
  s3.on(GetObjectTaggingCommand).callsFake((input) => ({
    TagSet: Object.entries(world.objects.get(`${input.Bucket}/${input.Key}`)?.tags ?? {}).map(
      ([Key, Value]) => ({ Key, Value }),
    ),
  }));
  s3.on(ListObjectsV2Command).callsFake((input) => ({
    Contents: [...world.objects]
      .filter(([k]) => k.startsWith(`${input.Bucket}/${input.Prefix}`))
      .map(([k, o]) => ({ Key: k.slice(input.Bucket.length + 1), Size: o.size, LastModified: new Date() })),
    IsTruncated: false,
  }));
}

let clearTargets: () => void;

beforeAll(async () => {
  // The real targets as a user runs them: with their unfilled(…) values filled in.
  clearTargets = registerFilledTargets();
  root = await mkdtemp(path.join(tmpdir(), 'stepops-backup-targets-'));
  process.env.STEPOPS_HOME = root;
  engine = createLocalBackupEngine();
});
afterAll(async () => {
  clearTargets();
  await rm(root, { recursive: true, force: true });
});
beforeEach(() => {
  fakeAws();
});

const TARGETS: [string, string[]][] = [
  ['datizmo', ['database', 'server-volume', 'env-file']],
  ['shop', ['mongodb', 'volumes']],
  ['docsai', ['database', 'server-volume']],
  ['zmanim', ['database', 'volumes']],
  ['ai-chat', ['mongodb', 'qdrant-storage', 'volumes']],
];

describe('the five targets back up on the local engine against mocked AWS', () => {
  it.each(TARGETS)('%s: every declared backup is taken and recorded good', async (target, backups) => {
    // Act
    const result = await engine.start(
      { target, reason: 'nightly' },
      {
        executionName: `run-${target}`,
        retryIntervalOverrides: { StartJob: 0 },
      },
    ).result;

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const entries = await catalogue.list(target);
    expect(entries.map((e) => e.backup).sort()).toEqual([...backups].sort());
    for (const entry of entries) expect(entry.outcome, `${entry.backup}: ${entry.error}`).toBe('good');
    for (const dump of entries.filter((e) => e.kind === 'dump')) {
      expect(dump.location).toMatch(
        new RegExp(`^s3://[a-z0-9.-]+/.*${target}/${dump.backup}/\\d{8}T\\d{6}Z-run-${target}$`),
      );
      expect(dump.sha256).toBe('ab'.repeat(32));
      expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [INSTANCE],
        Comment: `stepops backup ${target} ${dump.backup}`,
      });
    }
  });

  it('dumps on hosts without the AWS CLI upload to a presigned URL; secrets are read on the host by name', () => {
    // Assess
    const docsai = world.scripts.find((s) => exported(s, 'STEPOPS_TARGET') === 'docsai')!;
    expect(docsai).toMatch(
      /upload_url='https:\/\/docsai-stepops-backups\.s3\.us-east-1\.amazonaws\.com\/[^']*X-Amz-Signature=/,
    );
    expect(docsai).toContain(
      "-H 'x-amz-tagging: stepops%3Atarget=docsai&stepops%3Abackup=database&stepops%3Arun=run-docsai'",
    );
    expect(docsai).not.toContain('aws s3');
    const zmanim = world.scripts.find((s) => exported(s, 'STEPOPS_TARGET') === 'zmanim')!;
    expect(zmanim).toContain(
      "RESTIC_PASSWORD=$(aws ssm get-parameter --region 'eu-west-1' --name '/zmanim/prod/restic-password' --with-decryption --query Parameter.Value --output text)",
    );
  });

  it('a throttled CreateSnapshots is retried by the workflow and the backup still succeeds', async () => {
    // Prepare
    world.throttleNextCreate = true;

    // Act
    const result = await engine.start(
      { target: 'shop', backup: 'volumes' },
      {
        executionName: 'run-throttled',
        retryIntervalOverrides: { StartJob: 0 },
      },
    ).result;

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.trace.events.some((e) => e.kind === 'state-retried' && e.state === 'StartJob')).toBe(true);
    expect(ec2).toHaveReceivedCommandTimes(CreateSnapshotsCommand, 2);
  });

  it('prunes snapshots beyond the retention, deleting only tagged and catalogued ones', async () => {
    // Prepare: docsai's server-volume keeps 7 days; plant an old catalogued copy with its tagged snapshot
    const old = new Date(Date.now() - 30 * 86_400_000);
    world.snapshots.set('snap-old', {
      tags: { 'stepops:target': 'docsai', 'stepops:backup': 'server-volume', 'stepops:run': 'run-old' },
      reads: 5,
      start: old,
    });
    await catalogue.put({
      target: 'docsai',
      backup: 'server-volume',
      runId: 'run-old',
      kind: 'ebs-snapshot',
      location: 'ec2:eu-west-1:snap-old',
      resources: [{ id: 'snap-old', region: 'eu-west-1' }],
      startedAt: old.toISOString(),
      outcome: 'good',
    });

    // Act
    const result = await engine.start(
      { target: 'docsai', backup: 'server-volume' },
      { executionName: 'run-prune' },
    ).result;

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(ec2).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-old' });
    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect((await catalogue.get('docsai', 'server-volume', 'run-old'))?.outcome).toBe('deleted');
  });

  it('refuses to delete the newest good copy whose tags it can still see, and says so', async () => {
    // Prepare: a fresh catalogue and account with two good copies; the newest lost its tags, so the
    // older is the last copy provably ours
    process.env.STEPOPS_HOME = await mkdtemp(path.join(root, 'fresh-'));
    world.snapshots.clear();
    const target = 'zmanim';
    for (const [runId, days] of [
      ['run-z-old', 20],
      ['run-z-new', 10],
    ] as const) {
      const at = new Date(Date.now() - days * 86_400_000);
      if (runId === 'run-z-old') {
        world.snapshots.set('snap-z-old', {
          tags: { 'stepops:target': target, 'stepops:backup': 'volumes', 'stepops:run': runId },
          reads: 5,
          start: at,
        });
      }
      await catalogue.put({
        target,
        backup: 'volumes',
        runId,
        kind: 'ebs-snapshot',
        location: `ec2:eu-west-1:snap-${runId}`,
        resources: [{ id: runId === 'run-z-old' ? 'snap-z-old' : 'snap-z-new', region: 'eu-west-1' }],
        startedAt: at.toISOString(),
        outcome: 'good',
      });
    }

    // Act: a dry run first, then the prune itself
    const preview = await engine.start(
      { target, backup: 'volumes', dryRun: true },
      { executionName: 'run-z-dry' },
    ).result;
    const prune = pruneBackupsStep(
      { target, runId: 'run-z-prune', backup: 'volumes', lastOutcome: 'good', dryRun: false },
      backupDepsWith(ALL_BACKUP_FACTORIES),
    );

    // Assess: the dry run took and deleted nothing; the prune refuses, deleting nothing
    expect(preview.status, preview.cause).toBe('SUCCEEDED');
    expect(JSON.stringify(preview.output)).toContain('dry run');
    await expect(prune).rejects.toThrow(LastGoodCopyError);
    await expect(prune).rejects.toThrow(
      /refusing to delete run-z-old of zmanim\/volumes: it is the newest good copy/,
    );
    expect(ec2).toHaveReceivedCommandTimes(CreateSnapshotsCommand, 0);
    expect(ec2).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 0);
    expect((await catalogue.get(target, 'volumes', 'run-z-old'))?.outcome).toBe('good');
  });

  it('datizmo restore test: restores the newest RDS snapshot to a temporary instance, waits, deletes it, records it', async () => {
    // Prepare: a fresh catalogue with a good snapshot; the instance is creating, then available, then gone
    process.env.STEPOPS_HOME = await mkdtemp(path.join(root, 'rds-'));
    const backup = await engine.start({ target: 'datizmo', backup: 'database' }, { executionName: 'run-rds' })
      .result;
    let reads = 0;
    let deleted = false;
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({});
    rds.on(DescribeDBInstancesCommand).callsFake(() => {
      reads += 1;
      if (deleted) throw Object.assign(new Error('not found'), { name: 'DBInstanceNotFoundFault' });
      return {
        DBInstances: [
          {
            DBInstanceStatus: reads < 3 ? 'creating' : 'available',
            Endpoint: { Address: 'stepops-rt.abc.us-east-1.rds.amazonaws.com', Port: 5432 },
            TagList: [{ Key: 'stepops:restore-test', Value: 'true' }],
          },
        ],
      };
    });
    rds.on(DeleteDBInstanceCommand).callsFake(() => {
      deleted = true;
      return {};
    });

    // Act
    const result = await engine.start(
      { target: 'datizmo', backup: 'database', task: 'restore-test' },
      {
        executionName: 'run-rds-test',
      },
    ).result;

    // Assess
    expect(backup.status, backup.cause).toBe('SUCCEEDED');
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const [snapshotId] = [...world.dbSnapshots.keys()].filter((id) =>
      id.startsWith('stepops-datizmo-database-'),
    );
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBSnapshotIdentifier: snapshotId,
      DBInstanceClass: 'db.t4g.micro',
      PubliclyAccessible: false,
    });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    const [entry] = await catalogue.list('datizmo', 'database');
    expect(entry?.restoreTest).toMatchObject({ ok: true, runId: 'run-rds-test' });
    expect(entry?.restoreTest?.detail).toContain('available; deleted');
  });
});
