/**
 * Attacks on retention and the catalogue, each run on the local engine with the real handlers and
 * the real local drivers (dumps in the local object store, directory snapshots, the file
 * catalogue, alerts in the outbox). Each attack deleted real copies, or left the catalogue claiming
 * copies that were gone, before retention compared instants, checked each resource's own run tag,
 * kept the newest restore-verified copy, adopted only run-tagged copies, and marked `deleting`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateSnapshotsCommand,
  DeleteSnapshotCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
});

import { createLocalBackupEngine, LOCAL_BACKUP_ARNS } from '../../functions/index.ts';
import { ALL_BACKUP_FACTORIES } from '../../shared/backup/all-drivers.ts';
import type { PruneInput } from '../../shared/backup/contracts.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { pruneBackupsStep } from '../../shared/backup/steps/prune-backups.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import { LocalObjectStore } from '../../shared/drivers/local/local-object-store.ts';
import type { CatalogueEntry, Notification } from '../../shared/drivers/ports.ts';
import type { LambdaHandler, LocalEngine, RunResult } from '../../shared/engine/index.ts';
import { filledTarget } from '../fixtures/filled-targets.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');

let root: string;
let home: string;
let engine: LocalEngine;
const catalogue = new FileBackupCatalogue();
const objects = new LocalObjectStore();

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-retention-wf-'));
  home = path.join(root, 'home');
  await mkdir(home, { recursive: true });
  process.env.STEPOPS_HOME = home;
  engine = createLocalBackupEngine();
});
afterAll(async () => {
  clearRegisteredTargets();
  await rm(root, { recursive: true, force: true });
});

const hostDir = (name: string) => path.join(root, 'hosts', name);
const CHECK_PASSES = 'test "$(wc -l < "$STEPOPS_SCRATCH_DIR/rows.txt")" -ge 3';

/** A local target: a tar dump `data` (with a restore test) and a directory snapshot `files`. */
async function target(
  name: string,
  dump: Record<string, unknown> = {},
  files: Record<string, unknown> = {},
): Promise<string> {
  await mkdir(path.join(hostDir(name), 'data'), { recursive: true });
  await writeFile(path.join(hostDir(name), 'data', 'rows.txt'), 'one\ntwo\nthree\n');
  registerTarget({
    name,
    description: `retention attack target ${name}`,
    hosts: { type: 'local', directory: hostDir(name) },
    backup: [
      {
        name: 'data',
        type: 'dump',
        script: 'tar -C data -czf "$STEPOPS_DUMP_FILE" .',
        timeout: 30,
        bucket: 'retention-backups',
        prefix: 'dumps',
        schedule: 'cron(0 2 * * ? *)',
        retention: { count: 2 },
        rpoHours: 24,
        restoreTest: {
          schedule: 'cron(0 5 ? * SUN *)',
          script: 'tar -C "$STEPOPS_SCRATCH_DIR" -xzf "$STEPOPS_RESTORE_FILE"',
          check: CHECK_PASSES,
          timeout: 30,
        },
        ...dump,
      },
      {
        name: 'files',
        type: 'ebs-snapshot',
        schedule: 'cron(30 2 * * ? *)',
        retention: { count: 1 },
        ...files,
      },
    ],
  } as TargetInput);
  return name;
}

function run(
  input: Record<string, unknown>,
  runId: string,
  overrides: Record<string, LambdaHandler> = {},
): Promise<RunResult> {
  return engine.start(input, {
    executionName: runId,
    handlerOverrides: overrides,
    retryIntervalOverrides: { StartJob: 0, StartRestoreTest: 0, PruneBackups: 0 },
  }).result;
}

async function backup(name: string, job: string, runId: string): Promise<void> {
  const result = await run({ target: name, backup: job }, runId);
  expect(result.status, `${runId}: ${result.cause}`).toBe('SUCCEEDED');
}

/** Whether every resource of a catalogue entry is there: the dump object, or the snapshot directory. */
async function copyExists(entry: CatalogueEntry): Promise<boolean> {
  for (const r of entry.resources) {
    const there =
      entry.kind === 'dump'
        ? (await objects.head('retention-backups', r.id)) !== undefined
        : existsSync(r.id);
    if (!there) return false;
  }
  return entry.resources.length > 0;
}

async function entry(name: string, job: string, runId: string): Promise<CatalogueEntry> {
  const found = await catalogue.get(name, job, runId);
  if (!found) throw new Error(`no catalogue entry ${name}/${job}/${runId}`);
  return found;
}

/** Every entry the catalogue calls good names a copy that is there. */
async function expectEveryGoodEntryExists(name: string): Promise<void> {
  for (const e of await catalogue.list(name)) {
    if (e.outcome === 'good')
      expect(await copyExists(e), `${e.backup}/${e.runId} is recorded good`).toBe(true);
  }
}

async function notifications(runId: string): Promise<Notification[]> {
  const text = await readFile(path.join(home, 'outbox.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Notification)
    .filter((n) => n.runId === runId);
}

/** A directory snapshot someone else made, carrying stepops' target and backup tags. */
async function plantSnapshot(
  name: string,
  dir: string,
  tags: Record<string, string>,
  createdAt: Date,
): Promise<string> {
  const base = path.join(home, 'snapshots', name, 'files', dir);
  await mkdir(path.join(base, 'host-0'), { recursive: true });
  await writeFile(path.join(base, 'host-0', 'planted.txt'), 'not made by stepops\n');
  await writeFile(path.join(base, 'tags.json'), JSON.stringify(tags));
  await writeFile(
    path.join(base, 'state.json'),
    JSON.stringify({ state: 'completed', detail: 'copied', createdAt: createdAt.toISOString() }),
  );
  return base;
}

describe('retention attacks on the local engine', () => {
  it("14: an old run's row naming other runs' copies deletes none of them, and the run alerts", async () => {
    // Prepare: an old run of each job, newer runs, then the old run's rows rewritten to name the
    // newer runs' copies as well as its own (data keeps 3, files keeps 2: the old rows are beyond)
    const name = await target('rt-liar', { retention: { count: 3 } }, { retention: { count: 2 } });
    expect((await run({ target: name }, 'liar-0')).status).toBe('SUCCEEDED');
    await backup(name, 'data', 'liar-1');
    await backup(name, 'data', 'liar-2');
    await backup(name, 'files', 'liar-3');
    const named = {
      data: [await entry(name, 'data', 'liar-1'), await entry(name, 'data', 'liar-2')],
      files: [await entry(name, 'files', 'liar-3')],
    };
    for (const [job, rows] of Object.entries(named)) {
      const old = await entry(name, job, 'liar-0');
      await catalogue.put({
        ...old,
        startedAt: new Date(Date.now() - 90 * 86_400_000).toISOString(),
        resources: [...old.resources, ...rows.flatMap((r) => r.resources)],
      });
    }

    // Act
    const result = await run({ target: name }, 'liar-4');

    // Assess: every copy the old rows name is still there, every good entry exists, and it alerts
    for (const rows of Object.values(named))
      for (const r of rows) expect(await copyExists(r), r.runId).toBe(true);
    await expectEveryGoodEntryExists(name);
    expect(result.status).toBe('FAILED');
    expect(result.cause).toMatch(/liar-0 \(its resources also appear in the row of liar-\d/);
    const [alert] = await notifications('liar-4');
    expect(alert).toMatchObject({ workflow: 'backup', outcome: 'failed' });
    expect(alert?.summary).toContain('liar-0 (');
    expect((await entry(name, 'data', 'liar-4')).outcome).toBe('good');
  });

  it('16: a good copy dated in the future does not make the run delete the copy it just took', async () => {
    // Prepare: one good dump, then its entry dated a year ahead
    const name = await target('rt-future', { retention: { count: 1 } });
    await backup(name, 'data', 'future-1');
    const first = await entry(name, 'data', 'future-1');
    await catalogue.put({ ...first, startedAt: new Date(Date.now() + 365 * 86_400_000).toISOString() });

    // Act
    const result = await run({ target: name, backup: 'data' }, 'future-2');

    // Assess: the copy just taken is kept and good; the suspect one is kept too; the run alerts
    const taken = await entry(name, 'data', 'future-2');
    expect(taken.outcome).toBe('good');
    expect(await copyExists(taken)).toBe(true);
    expect(await copyExists(first)).toBe(true);
    expect(result.status).toBe('FAILED');
    expect(result.cause).toMatch(
      /kept as suspect, counted for no rule: future-1 \(dated \S+, in the future\)/,
    );
    expect(await notifications('future-2')).toHaveLength(1);
  });

  it('16: a good copy dated in the future does not blind the freshness check', async () => {
    // Prepare: the only good copy is dated tomorrow
    const name = await target('rt-future-fresh');
    await catalogue.put({
      target: name,
      backup: 'data',
      runId: 'future-only',
      kind: 'dump',
      location: 'file:///nowhere',
      resources: [{ id: 'dumps/x' }],
      startedAt: new Date(Date.now() + 86_400_000).toISOString(),
      outcome: 'good',
    });

    // Act
    const result = await run({ target: name, task: 'freshness' }, 'future-fresh');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('BackupStaleError');
    expect(result.cause).toContain('data has no good copy (RPO 24 h)');
  });

  it('16: the newest restore-verified copy is kept when a newer copy failed its restore test', async () => {
    // Prepare: a verified copy, then a newer one whose restore test fails
    const name = await target('rt-verified', { retention: { count: 1 } });
    await backup(name, 'data', 'verified-1');
    expect((await run({ target: name, task: 'restore-test' }, 'verified-rt-1')).status).toBe('SUCCEEDED');
    await backup(name, 'data', 'verified-2');
    await target('rt-verified', {
      retention: { count: 1 },
      restoreTest: {
        schedule: 'cron(0 5 ? * SUN *)',
        script: 'tar -C "$STEPOPS_SCRATCH_DIR" -xzf "$STEPOPS_RESTORE_FILE"',
        check: 'test "$(wc -l < "$STEPOPS_SCRATCH_DIR/rows.txt")" -ge 100',
        timeout: 30,
      },
    });
    expect((await run({ target: name, task: 'restore-test' }, 'verified-rt-2')).error).toBe(
      'RestoreTestFailedError',
    );
    await target('rt-verified', { retention: { count: 1 } });

    // Act
    await backup(name, 'data', 'verified-3');

    // Assess: the only verified copy is still there and good; the failed-test copy is pruned
    const verified = await entry(name, 'data', 'verified-1');
    expect(verified).toMatchObject({ outcome: 'good', restoreTest: { ok: true } });
    expect(await copyExists(verified)).toBe(true);
    expect((await entry(name, 'data', 'verified-2')).restoreTest?.ok).toBe(false);
    expect((await entry(name, 'data', 'verified-2')).outcome).toBe('deleted');
    expect((await entry(name, 'data', 'verified-3')).outcome).toBe('good');
    await expectEveryGoodEntryExists(name);
  });

  it('16: copy times are compared as instants, not as text ("…:00Z" against "…:00.500Z")', async () => {
    // Prepare: two copies half a second apart, the older written without milliseconds
    const name = await target('rt-instants');
    await backup(name, 'data', 'instant-1');
    await backup(name, 'data', 'instant-2');
    const at = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
    const older = await entry(name, 'data', 'instant-1');
    const newer = await entry(name, 'data', 'instant-2');
    await catalogue.put({ ...older, startedAt: new Date(at).toISOString().replace('.000Z', 'Z') });
    await catalogue.put({ ...newer, startedAt: new Date(at + 500).toISOString() });

    // Act: keeps 2, the run's own copy and the newer of the two
    await backup(name, 'data', 'instant-3');

    // Assess
    expect((await entry(name, 'data', 'instant-2')).outcome).toBe('good');
    expect(await copyExists(newer)).toBe(true);
    expect((await entry(name, 'data', 'instant-1')).outcome).toBe('deleted');
    expect(await copyExists(older)).toBe(false);
  });

  it('17: a newer foreign snapshot is never adopted as good, and the copy stepops made is kept', async () => {
    // Prepare: stepops' snapshot, then two newer ones carrying the target and backup tags: one
    // without a run tag (not stepops'), one with a run tag no catalogue row knows
    const name = await target('rt-foreign');
    await backup(name, 'files', 'foreign-1');
    const soon = new Date(Date.now() + 60_000);
    const tags = { 'stepops:target': name, 'stepops:backup': 'files' };
    const foreign = await plantSnapshot(name, 'foreign', tags, soon);
    const orphan = await plantSnapshot(name, 'orphan', { ...tags, 'stepops:run': 'run-orphan' }, soon);

    // Act: keeps 1
    const result = await run({ target: name, backup: 'files' }, 'foreign-2');

    // Assess: the copy just taken is kept; the foreign one is not in the catalogue and not touched;
    // the run-tagged orphan is adopted unverified, never as the newest good copy
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const taken = await entry(name, 'files', 'foreign-2');
    expect(taken.outcome).toBe('good');
    expect(await copyExists(taken)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
    expect((await catalogue.list(name, 'files')).map((e) => e.runId).sort()).toEqual([
      'foreign-1',
      'foreign-2',
      'run-orphan',
    ]);
    expect(await catalogue.get(name, 'files', 'run-orphan')).toMatchObject({
      adopted: true,
      outcome: 'good',
    });
    expect(existsSync(orphan)).toBe(true);
    expect((await entry(name, 'files', 'foreign-1')).outcome).toBe('deleted');
  });

  it('18: a prune that dies between the delete and the record leaves no good entry for the gone copy', async () => {
    // Prepare: one good copy; the next run's prune dies when it records the deletion
    const name = await target('rt-crash', { retention: { count: 1 } });
    await backup(name, 'data', 'crash-1');
    const first = await entry(name, 'data', 'crash-1');
    const file = new FileBackupCatalogue();
    const dying = backupDepsWith({
      ...ALL_BACKUP_FACTORIES,
      catalogue: () => ({
        get: (t, b, r) => file.get(t, b, r),
        list: (t, b) => file.list(t, b),
        create: (e) => file.create(e),
        replaceIf: (e, outcome) => file.replaceIf(e, outcome),
        put: async (e) => {
          if (e.outcome === 'deleted') throw new Error('the Lambda was killed');
          await file.put(e);
        },
      }),
    });
    const prune: LambdaHandler = (event) => pruneBackupsStep(event as PruneInput, dying);

    // Act
    const crashed = await run({ target: name, backup: 'data' }, 'crash-2', {
      [LOCAL_BACKUP_ARNS['prune-backups']]: prune,
    });
    const afterCrash = await entry(name, 'data', 'crash-1');
    const next = await run({ target: name, backup: 'data' }, 'crash-3');

    // Assess: the crash left the copy gone and its entry not good; the next run recorded it deleted
    expect(crashed.status).toBe('FAILED');
    expect(await copyExists(first)).toBe(false);
    expect(afterCrash.outcome).toBe('deleting');
    expect(next.status, next.cause).toBe('SUCCEEDED');
    expect((await entry(name, 'data', 'crash-1')).outcome).toBe('deleted');
    expect((await catalogue.list(name)).filter((e) => e.outcome === 'deleting')).toEqual([]);
    await expectEveryGoodEntryExists(name);
  });

  it('19: a directory snapshot interrupted by a killed process is recorded failed and pruned', async () => {
    // Prepare: a process starts a snapshot and is killed before it can record the copy's end
    const name = await target('rt-interrupted');
    const script = path.join(root, 'interrupt.mjs');
    await writeFile(
      script,
      [
        `const { LocalCopyService } = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'shared/drivers/local/local-copy-service.ts'))});`,
        'await new LocalCopyService().start({',
        "  kind: 'ebs-snapshot',",
        `  hosts: [{ kind: 'local', id: 'local', directory: ${JSON.stringify(hostDir(name))} }],`,
        `  tags: { 'stepops:target': ${JSON.stringify(name)}, 'stepops:backup': 'files', 'stepops:run': 'run-killed' },`,
        "  description: 'killed midway',",
        '});',
        "process.kill(process.pid, 'SIGKILL');",
      ].join('\n'),
    );
    const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
      const child = spawn(NODE, [script], { env: { ...process.env, STEPOPS_HOME: home }, stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', (_code, sig) => resolve(sig));
    });
    const killed = path.join(home, 'snapshots', name, 'files', 'run-killed');
    const state = JSON.parse(await readFile(path.join(killed, 'state.json'), 'utf8')) as { state: string };

    // Act
    await backup(name, 'files', 'interrupted-2');

    // Assess: the copy left pending was adopted as failed, then pruned (a newer good copy exists)
    expect(signal).toBe('SIGKILL');
    expect(state.state).toBe('pending');
    expect(await catalogue.get(name, 'files', 'run-killed')).toMatchObject({
      adopted: true,
      outcome: 'deleted',
    });
    expect(existsSync(killed)).toBe(false);
    expect((await entry(name, 'files', 'interrupted-2')).outcome).toBe('good');
  });
});

describe('retention attacks on EBS snapshots (EC2 mocked at the command level)', () => {
  const ec2 = mockClient(EC2Client);
  const ssm = mockClient(SSMClient);
  const INSTANCE = 'i-0123456789abcdef0';
  /** The account's snapshots with their tags, as DescribeSnapshots returns them. */
  const snapshots = new Map<string, { tags: Record<string, string>; start: Date }>();

  beforeAll(() => {
    registerTarget(filledTarget('docsai'));
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: INSTANCE }] }] });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online' }],
    });
    // CreateSnapshots tags every snapshot with the TagSpecifications given (Amazon EC2 API Reference).
    ec2.on(CreateSnapshotsCommand).callsFake((input) => {
      const tags = Object.fromEntries(
        input.TagSpecifications[0].Tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]),
      );
      const id = `snap-new-${snapshots.size}`;
      snapshots.set(id, { tags, start: new Date() });
      return { Snapshots: [{ SnapshotId: id, State: 'pending' }] };
    });
    // DescribeSnapshots: by id, or every snapshot carrying the tag:<key> filters' values.
    ec2.on(DescribeSnapshotsCommand).callsFake((input) => ({
      Snapshots: [...snapshots]
        .filter(([id, s]) =>
          input.SnapshotIds
            ? input.SnapshotIds.includes(id)
            : input.Filters.every((f: { Name: string; Values: string[] }) =>
                f.Values.includes(s.tags[f.Name.slice(4)] ?? ''),
              ),
        )
        .map(([SnapshotId, s]) => ({
          SnapshotId,
          State: 'completed',
          VolumeSize: 8,
          StartTime: s.start,
          Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
        })),
    }));
    ec2.on(DeleteSnapshotCommand).callsFake((input) => {
      snapshots.delete(input.SnapshotId);
      return {};
    });
  });
  afterAll(() => {
    ec2.restore();
    ssm.restore();
  });

  it("14: an old run's row naming a recent snapshot of another run does not delete it", async () => {
    // Prepare: an old snapshot of run-old and a recent one of run-recent (kept by the 7-day
    // retention); run-old's row names both
    const old = new Date(Date.now() - 40 * 86_400_000);
    const recent = new Date(Date.now() - 2 * 86_400_000);
    for (const [id, runId, start] of [
      ['snap-old', 'run-old', old],
      ['snap-recent', 'run-recent', recent],
    ] as const) {
      snapshots.set(id, {
        tags: { 'stepops:target': 'docsai', 'stepops:backup': 'server-volume', 'stepops:run': runId },
        start,
      });
    }
    const row: CatalogueEntry = {
      target: 'docsai',
      backup: 'server-volume',
      runId: 'run-recent',
      kind: 'ebs-snapshot',
      location: 'ec2:us-east-1:snap-recent',
      resources: [{ id: 'snap-recent', region: 'us-east-1' }],
      startedAt: recent.toISOString(),
      outcome: 'good',
    };
    await catalogue.put(row);
    await catalogue.put({
      ...row,
      runId: 'run-old',
      location: 'ec2:us-east-1:snap-old,snap-recent',
      resources: [{ id: 'snap-old', region: 'us-east-1' }, ...row.resources],
      startedAt: old.toISOString(),
    });

    // Act
    const result = await run({ target: 'docsai', backup: 'server-volume' }, 'ebs-liar');

    // Assess: the recent snapshot is there and still recorded good; the run alerts about the old row
    expect(ec2).not.toHaveReceivedCommandWith(DeleteSnapshotCommand, { SnapshotId: 'snap-recent' });
    expect(snapshots.has('snap-recent')).toBe(true);
    expect((await entry('docsai', 'server-volume', 'run-recent')).outcome).toBe('good');
    expect(result.status).toBe('FAILED');
    expect(result.cause).toContain('run-old (its resources also appear in the row of run-recent');
  });
});
