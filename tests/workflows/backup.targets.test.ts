/**
 * The five systems' declared backups, each run by the backup workflow on the local engine with the
 * real handlers and the AWS clients on the shared AWS fakes (tests/fakes): EC2, RDS, SSM and S3 that
 * keep state and answer as AWS documents (snapshots pending then completed, instances busy while a
 * snapshot is taken, buckets in one region, …). The catalogue is the file one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateSnapshotsCommand, DeleteSnapshotCommand } from '@aws-sdk/client-ec2';
import { DeleteDBInstanceCommand, RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import { SendCommandCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
});

import { createLocalBackupEngine, HANDLERS, LOCAL_BACKUP_ARNS } from '../../functions/index.ts';
import { ALL_BACKUP_FACTORIES } from '../../shared/backup/all-drivers.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { SuspectCopyError } from '../../shared/backup/errors.ts';
import { pruneBackupsStep } from '../../shared/backup/steps/prune-backups.ts';
import { commandToken } from '../../shared/drivers/aws/ssm-command-runner.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import type { LambdaHandler, LocalEngine } from '../../shared/engine/index.ts';
import { type AwsFakes, installAwsFakes } from '../fakes/index.ts';
import { FILLED_VALUES, registerFilledTargets } from '../fixtures/filled-targets.ts';
import '../iam/record-calls.ts';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { findTarget } from '../../shared/config/registry.ts';

const INSTANCE = 'i-0123456789abcdef0';
let root: string;
let engine: LocalEngine;
const catalogue = new FileBackupCatalogue();
let aws: AwsFakes;
/** The scripts SSM was sent, in order. */
const scripts: string[] = [];

/** Each target's region and the tags its hosts are selected by (as its target file declares). */
const HOSTS: Record<string, { region: string; tags: Record<string, string> }> = {
  datizmo: { region: 'us-east-1', tags: { 'stepops:target': 'datizmo' } },
  shop: { region: 'us-east-1', tags: { 'stepops:target': 'shop' } },
  docsai: { region: 'us-east-1', tags: { 'stepops:target': 'docsai' } },
  zmanim: { region: 'eu-west-1', tags: { 'stepops:target': 'zmanim' } },
  'ai-chat': { region: 'us-east-1', tags: { 'stepops:target': 'ai-chat' } },
};

function exported(script: string, name: string): string {
  return new RegExp(`^export ${name}='([^']*)'$`, 'm').exec(script)?.[1] ?? '';
}

/**
 * What a host does with a dump's commands: the dump command prints its result line; the object
 * lands in the bucket with this run's tags when a command uploads it (the upload command of a
 * presigned upload, through its URL, which S3 refuses when signed for another region; or `aws s3
 * cp`); a refused upload fails as curl --fail does.
 */
function runDump(script: string): { code: number; stdout: string; stderr: string } {
  scripts.push(script);
  // A restore test checks the downloaded dump against the catalogue's SHA-256 and restores it.
  if (script.includes('\n# stepops restore test ')) {
    return {
      code: 0,
      stdout: `==> restore\nSTEPOPS_RESTORE_RESULT ok sha256=${'ab'.repeat(32)}\n`,
      stderr: '',
    };
  }
  const uri = exported(script, 'STEPOPS_DUMP_URI');
  if (!uri) return { code: 0, stdout: '', stderr: '' };
  const [bucket = '', ...key] = uri.replace(/^s3:\/\//, '').split('/');
  const tags = {
    'stepops:target': exported(script, 'STEPOPS_TARGET'),
    'stepops:backup': exported(script, 'STEPOPS_BACKUP'),
    'stepops:run': exported(script, 'STEPOPS_RUN_ID'),
  };
  const body = 'x'.repeat(1234);
  const upload = script.includes('\n# stepops upload ');
  const url = /^upload_url='([^']*)'$/m.exec(script)?.[1];
  if (upload && url) {
    const put = aws.s3.fetch(url, {
      method: 'PUT',
      body,
      headers: { 'x-amz-tagging': new URLSearchParams(tags).toString() },
    });
    if (put.status !== 200)
      return { code: 22, stdout: '', stderr: `curl: (22) The requested URL returned error: ${put.status}` };
  } else if (script.includes('aws s3 cp')) {
    aws.s3.buckets.get(bucket)?.objects.set(key.join('/'), { body, tags, lastModified: new Date() });
  }
  return {
    code: 0,
    stdout: upload
      ? `==> upload\nSTEPOPS_UPLOAD_RESULT sha256=${'ab'.repeat(32)} size=1234\n`
      : `==> dump\nSTEPOPS_DUMP_RESULT sha256=${'ab'.repeat(32)} size=1234\n`,
    stderr: '',
  };
}

/** The instance of a target's host. */
function instanceOf(target: string): string {
  return `${INSTANCE.slice(0, -1)}${Object.keys(HOSTS).indexOf(target)}`;
}

/** A fresh account: each target's instance with a root and a data volume, its buckets, datizmo's database. */
function fakeAws(): void {
  aws?.restore();
  aws = installAwsFakes({ ssm: { run: runDump } });
  for (const [target, { region, tags }] of Object.entries(HOSTS)) {
    const id = instanceOf(target);
    aws.ec2.instances.set(id, { id, region, state: 'running', tags });
    aws.ec2.addVolume({ id: `vol-${target}-root`, region, size: 8, instanceId: id, device: '/dev/xvda' });
    aws.ec2.addVolume({ id: `vol-${target}-data`, region, size: 20, instanceId: id, device: '/dev/sdf' });
    aws.ssm.online.add(id);
  }
  for (const [what, bucket] of Object.entries(FILLED_VALUES)) {
    if (!what.startsWith('S3 bucket')) continue;
    const target =
      Object.keys(HOSTS).find((t) => what.includes(`${t}'s`) || what.includes(` ${t} `)) ?? 'zmanim';
    aws.s3.addBucket(bucket, HOSTS[target]?.region ?? 'us-east-1');
  }
  aws.rds.addInstance({ id: 'datizmo-db', region: 'us-east-1' });
}

let clearTargets: () => void;

const sns = mockClient(SNSClient);

beforeAll(async () => {
  // The real targets as a user runs them: with their unfilled(…) values filled in.
  clearTargets = registerFilledTargets();
  // As on a stage: alerts go to the stage's topic (its forwarder posts them to Slack).
  process.env.STEPOPS_ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:stepops-test-alerts';
  sns.on(PublishCommand).resolves({ MessageId: 'message-1' });
  root = await mkdtemp(path.join(tmpdir(), 'stepops-backup-targets-'));
  process.env.STEPOPS_HOME = root;
  engine = createLocalBackupEngine();
});
afterAll(async () => {
  aws.restore();
  sns.restore();
  delete process.env.STEPOPS_ALERTS_TOPIC_ARN;
  clearTargets();
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  // A fresh account and a fresh catalogue together: a catalogue that claims copies an account does
  // not have is what retention treats as suspect.
  fakeAws();
  process.env.STEPOPS_HOME = await mkdtemp(path.join(root, 'account-'));
});

const TARGETS: [string, string[]][] = [
  ['datizmo', ['database', 'server-volume', 'env-file']],
  ['shop', ['mongodb', 'volumes']],
  ['docsai', ['database', 'server-volume']],
  ['zmanim', ['database', 'volumes']],
  ['ai-chat', ['mongodb', 'qdrant-storage', 'volumes']],
];

describe('the five targets back up on the local engine against the AWS fakes', () => {
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
      expect(aws.ssm.mock).toHaveReceivedCommandWith(SendCommandCommand, {
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [instanceOf(target)],
        // The token a retried start finds it by (the run, the phase and the backup).
        Comment: `${commandToken(`run-${target}/backup/${dump.backup}`, 0)} stepops backup ${target} ${dump.backup}`,
      });
    }
  });

  it('dumps on hosts without the AWS CLI upload to a presigned URL sent only once the dump is done; secrets are read on the host by name', () => {
    // Assess
    const docsai = scripts.filter(
      (s) => exported(s, 'STEPOPS_TARGET') === 'docsai' && s.includes('STEPOPS_DUMP_URI'),
    );
    const [dump, upload] = docsai;
    expect(docsai).toHaveLength(2);
    expect(dump).toContain('\n# stepops backup docsai database\n');
    expect(dump).not.toContain('X-Amz-');
    expect(upload).toContain('\n# stepops upload docsai database\n');
    expect(upload).toMatch(
      /upload_url='https:\/\/docsai-stepops-backups\.s3\.us-east-1\.amazonaws\.com\/[^']*X-Amz-Signature=/,
    );
    expect(upload).toContain(
      "-H 'x-amz-tagging: stepops%3Atarget=docsai&stepops%3Abackup=database&stepops%3Arun=run-docsai'",
    );
    expect(`${dump}${upload}`).not.toContain('aws s3');
    const zmanim = scripts.find((s) => exported(s, 'STEPOPS_TARGET') === 'zmanim')!;
    expect(zmanim).toContain(
      "RESTIC_PASSWORD=$(aws ssm get-parameter --region 'eu-west-1' --name '/zmanim/prod/restic-password' --with-decryption --query Parameter.Value --output text)",
    );
  });

  it('a throttled CreateSnapshots is retried by the workflow and the backup still succeeds', async () => {
    // Prepare
    aws.ec2.switches.throttle.CreateSnapshots = 1;

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
    expect(aws.ec2.mock).toHaveReceivedCommandTimes(CreateSnapshotsCommand, 2);
  });

  it('prunes snapshots beyond the retention, deleting only tagged and catalogued ones', async () => {
    // Prepare: docsai's server-volume keeps 7 days; plant an old catalogued copy with its tagged snapshot
    const old = new Date(Date.now() - 30 * 86_400_000);
    aws.ec2.addSnapshot({
      id: 'snap-old',
      region: 'us-east-1',
      tags: { 'stepops:target': 'docsai', 'stepops:backup': 'server-volume', 'stepops:run': 'run-old' },
      startTime: old,
    });
    await catalogue.put({
      target: 'docsai',
      backup: 'server-volume',
      runId: 'run-old',
      kind: 'ebs-snapshot',
      location: 'ec2:us-east-1:snap-old',
      resources: [{ id: 'snap-old', region: 'us-east-1' }],
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
    expect(aws.ec2.mock).toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-old' });
    expect(aws.ec2.mock).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 1);
    expect(aws.ec2.snapshots.has('snap-old')).toBe(false);
    expect((await catalogue.get('docsai', 'server-volume', 'run-old'))?.outcome).toBe('deleted');
  });

  it('datizmo: an RDS instance busy with a pre-deploy snapshot is waited for, not a failed backup', async () => {
    // Prepare: a deploy's snapshot of datizmo-db is still being taken, so the instance is backing-up
    // and refuses CreateDBSnapshot (InvalidDBInstanceState) until it is done
    aws.rds.addSnapshot({
      id: 'stepops-datizmo-20260301-020000',
      region: 'us-east-1',
      dbInstance: 'datizmo-db',
      status: 'creating',
      creatingReads: 1,
      tags: { 'stepops:target': 'datizmo', 'stepops:run': 'deploy-1' },
    });

    // Act
    const result = await engine.start(
      { target: 'datizmo', backup: 'database' },
      { executionName: 'run-busy-db', retryIntervalOverrides: { StartJob: 0 } },
    ).result;

    // Assess: refused while the instance was busy, retried, taken
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const attempts = aws.log.calls.filter((c) => c.call === 'rds:CreateDBSnapshot').map((c) => c.error);
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts.slice(0, -1).every((e) => e === 'InvalidDBInstanceStateFault')).toBe(true);
    expect(attempts.at(-1)).toBeUndefined();
    expect((await catalogue.get('datizmo', 'database', 'run-busy-db'))?.outcome).toBe('good');
  });

  it('shop: snapshots that EC2 does not show yet right after CreateSnapshots are waited for, not failed', async () => {
    // Prepare: each new snapshot answers InvalidSnapshot.NotFound to its first two reads by id
    aws.ec2.switches.invisibleReads = 2;

    // Act
    const result = await engine.start(
      { target: 'shop', backup: 'volumes' },
      { executionName: 'run-unseen', retryIntervalOverrides: { StartJob: 0 } },
    ).result;

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(aws.log.calls.some((c) => c.error === 'InvalidSnapshot.NotFound')).toBe(true);
    expect((await catalogue.get('shop', 'volumes', 'run-unseen'))?.outcome).toBe('good');
  });

  it('docsai: a prune keeps a snapshot that an AMI uses, says so, and still prunes the others', async () => {
    // Prepare: two old catalogued copies past the retention; the older one's snapshot backs an AMI
    process.env.STEPOPS_HOME = await mkdtemp(path.join(root, 'in-use-'));
    for (const [runId, days] of [
      ['run-ami', 40],
      ['run-old2', 30],
    ] as const) {
      const at = new Date(Date.now() - days * 86_400_000);
      aws.ec2.addSnapshot({
        id: `snap-${runId}`,
        region: 'us-east-1',
        tags: { 'stepops:target': 'docsai', 'stepops:backup': 'server-volume', 'stepops:run': runId },
        startTime: at,
      });
      await catalogue.put({
        target: 'docsai',
        backup: 'server-volume',
        runId,
        kind: 'ebs-snapshot',
        location: `ec2:us-east-1:snap-${runId}`,
        resources: [{ id: `snap-${runId}`, region: 'us-east-1' }],
        startedAt: at.toISOString(),
        outcome: 'good',
      });
    }
    aws.ec2.images.set('ami-0docsai', { id: 'ami-0docsai', snapshotIds: ['snap-run-ami'] });

    // Act
    const result = await engine.start(
      { target: 'docsai', backup: 'server-volume' },
      { executionName: 'run-in-use' },
    ).result;

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(aws.ec2.snapshots.has('snap-run-old2')).toBe(false);
    expect(aws.ec2.snapshots.has('snap-run-ami')).toBe(true);
    expect((await catalogue.get('docsai', 'server-volume', 'run-old2'))?.outcome).toBe('deleted');
    expect((await catalogue.get('docsai', 'server-volume', 'run-ami'))?.outcome).toBe('good');
    expect(JSON.stringify(result.output)).not.toContain('failed');
    const pruned = result.trace.events.find((e) => e.kind === 'state-exited' && e.state === 'PruneBackups');
    expect(JSON.stringify(pruned?.output)).toMatch(
      /"inUse":\[\{"runId":"run-ami","detail":"[^"]*InvalidSnapshot\.InUse/,
    );
  });

  it('keeps the newest good copy whose tags it can still see when a newer good one is not found, and alerts', async () => {
    // Prepare: a fresh catalogue and account with two good copies; the newest lost its tags, so the
    // older is the last copy provably ours
    process.env.STEPOPS_HOME = await mkdtemp(path.join(root, 'fresh-'));
    aws.ec2.snapshots.clear();
    const target = 'zmanim';
    for (const [runId, days] of [
      ['run-z-old', 20],
      ['run-z-new', 10],
    ] as const) {
      const at = new Date(Date.now() - days * 86_400_000);
      if (runId === 'run-z-old') {
        aws.ec2.addSnapshot({
          id: 'snap-z-old',
          region: 'eu-west-1',
          tags: { 'stepops:target': target, 'stepops:backup': 'volumes', 'stepops:run': runId },
          startTime: at,
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
    const refused = await pruneBackupsStep(
      { target, runId: 'run-z-prune', backup: 'volumes', lastOutcome: 'good', dryRun: false },
      backupDepsWith(ALL_BACKUP_FACTORIES),
    ).then(
      () => undefined,
      (error: Error) => error,
    );

    // Assess: the dry run took and deleted nothing and says why; the prune keeps both and alerts
    expect(preview.status).toBe('FAILED');
    expect(preview.cause).toContain('run-z-new (it is recorded good, but its copy is not found');
    expect(refused).toBeInstanceOf(SuspectCopyError);
    expect(refused?.message).toMatch(/^zmanim\/volumes: deleted nothing; kept as suspect/);
    expect(aws.ec2.mock).toHaveReceivedCommandTimes(CreateSnapshotsCommand, 0);
    expect(aws.ec2.mock).toHaveReceivedCommandTimes(DeleteSnapshotCommand, 0);
    expect(aws.ec2.snapshots.has('snap-z-old')).toBe(true);
    expect((await catalogue.get(target, 'volumes', 'run-z-old'))?.outcome).toBe('good');
  });

  it.each(
    TARGETS.flatMap(([target]) =>
      (findTarget(target).backup ?? [])
        .filter((job) => job.type === 'dump' && job.restoreTest)
        .map((job): [string, string] => [target, job.name]),
    ),
  )(
    '%s %s: the dump is taken, then its scheduled restore test runs on the host and is recorded',
    async (target, backup) => {
      // Act
      const taken = await engine.start({ target, backup }, { executionName: `rt-take-${target}-${backup}` })
        .result;
      const tested = await engine.start(
        { target, backup, task: 'restore-test' },
        { executionName: `rt-test-${target}-${backup}` },
      ).result;

      // Assess
      expect(taken.status, taken.cause).toBe('SUCCEEDED');
      expect(tested.status, tested.cause).toBe('SUCCEEDED');
      const restore = scripts.filter(
        (s) =>
          s.includes(`\n# stepops restore test ${target} ${backup}\n`) &&
          exported(s, 'STEPOPS_TARGET') === target,
      );
      expect(restore).toHaveLength(1);
      const entry = await catalogue.get(target, backup, `rt-take-${target}-${backup}`);
      expect(entry?.restoreTest).toMatchObject({ ok: true, runId: `rt-test-${target}-${backup}` });
    },
  );

  it('datizmo restore test: restores the newest RDS snapshot to a temporary instance, waits, deletes it, records it', async () => {
    // Prepare: a fresh catalogue with a good snapshot; the restored instance is creating, then
    // available, then deleting, then gone (the RDS fake)
    process.env.STEPOPS_HOME = await mkdtemp(path.join(root, 'rds-'));
    const backup = await engine.start({ target: 'datizmo', backup: 'database' }, { executionName: 'run-rds' })
      .result;

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
    // The snapshot this run took: an older one (of an earlier test, absent from this fresh
    // catalogue) is adopted unverified, and never restored in its place.
    const [snapshotId] = [...aws.rds.snapshots.values()]
      .filter((snapshot) => snapshot.tags['stepops:run'] === 'run-rds')
      .map((snapshot) => snapshot.id);
    expect(aws.rds.mock).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBSnapshotIdentifier: snapshotId,
      DBInstanceClass: 'db.t4g.micro',
      PubliclyAccessible: false,
    });
    expect(aws.rds.mock).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect([...aws.rds.instances.keys()]).toEqual(['datizmo-db']);
    const entry = await catalogue.get('datizmo', 'database', 'run-rds');
    expect(entry?.restoreTest).toMatchObject({ ok: true, runId: 'run-rds-test' });
    expect(entry?.restoreTest?.detail).toContain('available; deleted');
  });
});

/**
 * A start step whose answer is lost after it acted (Lambda.ServiceException after the work, as when
 * the invocation's response does not reach Step Functions), so that the workflow's Retry runs it
 * again, in a later second of the clock (names made from the clock would differ).
 */
function answerLostOnce(fn: 'start-backup' | 'start-restore-test'): {
  overrides: Record<string, LambdaHandler>;
  attempts: () => number;
} {
  let attempts = 0;
  const handler: LambdaHandler = async (event, context) => {
    attempts += 1;
    const answer = await HANDLERS[fn](event, context);
    if (attempts === 1) {
      await new Promise((resolve) => setTimeout(resolve, 1005 - (Date.now() % 1000)));
      throw Object.assign(new Error('the invocation acted, its answer was lost'), {
        name: 'Lambda.ServiceException',
      });
    }
    return answer;
  };
  return { overrides: { [LOCAL_BACKUP_ARNS[fn]]: handler }, attempts: () => attempts };
}

describe('start steps that AWS retries after they acted', () => {
  it('a retried dump start dumps once and writes one object, under the key the run started with', async () => {
    // Prepare: shop's MongoDB dump uploads from the host itself (aws s3 cp), straight to its key
    const lost = answerLostOnce('start-backup');
    const dumpsOf = () =>
      scripts.filter(
        (s) => s.includes('\n# stepops backup shop mongodb\n') && s.includes('STEPOPS_DUMP_URI'),
      );
    const before = dumpsOf().length;

    // Act
    const result = await engine.start(
      { target: 'shop', backup: 'mongodb' },
      {
        executionName: 'run-retried-dump',
        handlerOverrides: lost.overrides,
        retryIntervalOverrides: { StartJob: 0 },
      },
    ).result;

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(lost.attempts()).toBe(2);
    expect(dumpsOf().length - before).toBe(1);
    const entry = await catalogue.get('shop', 'mongodb', 'run-retried-dump');
    expect(entry?.outcome).toBe('good');
    const [bucket = '', ...key] = String(entry?.location)
      .replace(/^s3:\/\//, '')
      .split('/');
    const objects = [...(aws.s3.buckets.get(bucket)?.objects.keys() ?? [])].filter((k) =>
      k.includes('/mongodb/'),
    );
    expect(objects).toEqual([key.join('/')]);
    // The key carries the run's start ($$.Execution.StartTime), the same for both attempts.
    expect(key.join('/')).toMatch(/\/shop\/mongodb\/\d{8}T\d{6}Z-run-retried-dump$/);
  });

  it('a retried RDS restore-test start makes one temporary instance, and deletes it', async () => {
    // Prepare: a fresh catalogue with a good snapshot of datizmo's database
    process.env.STEPOPS_HOME = await mkdtemp(path.join(root, 'rds-retried-'));
    const backup = await engine.start(
      { target: 'datizmo', backup: 'database' },
      { executionName: 'run-rds-r' },
    ).result;
    const lost = answerLostOnce('start-restore-test');
    const made: string[] = [];
    const restores = () => aws.rds.mock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand);
    const before = restores().length;

    // Act
    const result = await engine.start(
      { target: 'datizmo', backup: 'database', task: 'restore-test' },
      {
        executionName: 'run-rds-r-test',
        handlerOverrides: lost.overrides,
        retryIntervalOverrides: { StartRestoreTest: 0 },
        onEvent: (event) => {
          if (event.kind === 'state-entered' && event.state === 'WaitForRestoreTest')
            made.push(...[...aws.rds.instances.keys()].filter((id) => id !== 'datizmo-db'));
        },
      },
    ).result;

    // Assess
    expect(backup.status, backup.cause).toBe('SUCCEEDED');
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(lost.attempts()).toBe(2);
    // Both attempts asked for the same identifier; the second found the first one's instance.
    const ids = restores()
      .slice(before)
      .map((c) => c.args[0].input.DBInstanceIdentifier);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^stepops-rt-datizmo-database-\d{8}t\d{6}z-[0-9a-f]{6}$/);
    expect(new Set(made)).toEqual(new Set([ids[0]]));
    expect([...aws.rds.instances.keys()]).toEqual(['datizmo-db']);
    const entry = await catalogue.get('datizmo', 'database', 'run-rds-r');
    expect(entry?.restoreTest).toMatchObject({ ok: true, runId: 'run-rds-r-test' });
  });
});
