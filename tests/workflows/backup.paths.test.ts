/**
 * Every path of the backup workflow on the local engine, with the real handlers and the real local
 * drivers: dumps run with bash into the local object store, snapshots are directory copies, the
 * catalogue is a file, alerts go to the outbox. Fakes appear only where a failure must be injected.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import { createLocalBackupEngine, LOCAL_BACKUP_ARNS } from '../../functions/index.ts';
import { ALL_BACKUP_FACTORIES } from '../../shared/backup/all-drivers.ts';
import { backupDepsWith } from '../../shared/backup/deps.ts';
import { backupLeaseKey } from '../../shared/backup/lease.ts';
import { startBackupStep } from '../../shared/backup/steps/start-backup.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../shared/config/registry.ts';
import type { TargetInput } from '../../shared/config/schema.ts';
import { FileBackupCatalogue } from '../../shared/drivers/local/file-backup-catalogue.ts';
import { LocalObjectStore } from '../../shared/drivers/local/local-object-store.ts';
import { readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import type { LambdaHandler, LocalEngine, RunResult } from '../../shared/engine/index.ts';

let root: string;
let home: string;
let engine: LocalEngine;
const catalogue = new FileBackupCatalogue();

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-backup-wf-'));
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

/** A local target with a data directory: a tar dump (with a restore test) and a directory snapshot. */
async function target(
  name: string,
  extra: Partial<TargetInput> = {},
  dump: Record<string, unknown> = {},
): Promise<string> {
  await mkdir(path.join(hostDir(name), 'data'), { recursive: true });
  await writeFile(path.join(hostDir(name), 'data', 'rows.txt'), 'one\ntwo\nthree\n');
  registerTarget({
    name,
    description: `backup workflow test target ${name}`,
    hosts: { type: 'local', directory: hostDir(name) },
    backup: [
      {
        name: 'data',
        type: 'dump',
        script: 'tar -C data -czf "$STEPOPS_DUMP_FILE" .',
        timeout: 30,
        bucket: 'test-backups',
        prefix: 'dumps',
        schedule: 'cron(0 2 * * ? *)',
        retention: { count: 2 },
        rpoHours: 24,
        restoreTest: {
          schedule: 'cron(0 5 ? * SUN *)',
          script: 'tar -C "$STEPOPS_SCRATCH_DIR" -xzf "$STEPOPS_RESTORE_FILE"',
          check: 'test "$(wc -l < "$STEPOPS_SCRATCH_DIR/rows.txt")" -ge 3',
          timeout: 30,
        },
        ...dump,
      },
      { name: 'files', type: 'ebs-snapshot', schedule: 'cron(30 2 * * ? *)', retention: { count: 1 } },
    ],
    ...extra,
  } as TargetInput);
  return name;
}

function entered(result: RunResult, depth = 0): string[] {
  return result.trace.events
    .filter((e) => e.kind === 'state-entered' && e.depth === depth)
    .map((e) => (depth === 0 ? (e.state as string) : `[${e.iteration}] ${e.state}`));
}

async function notifications(runId: string): Promise<Notification[]> {
  return (await readOutbox(home)).filter((n) => n.runId === runId);
}

function run(
  input: unknown,
  runId: string,
  overrides: Record<string, LambdaHandler> = {},
): Promise<RunResult> {
  return engine.start(input, {
    executionName: runId,
    handlerOverrides: overrides,
    retryIntervalOverrides: { StartJob: 0, StartRestoreTest: 0 },
  }).result;
}

describe('backup workflow on the local engine', () => {
  it('takes a dump and a directory snapshot, records both, and announces nothing', async () => {
    // Prepare
    const name = await target('bk-ok');

    // Act
    const result = await run({ target: name, reason: 'nightly' }, 'run-ok-1');

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'succeeded', notified: false });
    expect(entered(result)).toEqual([
      'PlanBackup',
      'ChooseTask',
      'TakeBackups',
      'Notify',
      'RunSucceeded',
      'Succeeded',
    ]);
    const entries = await catalogue.list(name);
    expect(entries.map((e) => [e.backup, e.outcome])).toEqual(
      expect.arrayContaining([
        ['data', 'good'],
        ['files', 'good'],
      ]),
    );
    const dump = entries.find((e) => e.backup === 'data')!;
    expect(dump.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(dump.location).toMatch(/^file:\/\/.*\/test-backups\/dumps\/bk-ok\/data\/\d{8}T\d{6}Z-run-ok-1$/);
    const file = dump.location.replace('file://', '');
    expect((await readFile(file)).length).toBe(dump.sizeBytes);
    const snapshot = entries.find((e) => e.backup === 'files')!;
    expect(existsSync(path.join(snapshot.resources[0]!.id, 'data', 'rows.txt'))).toBe(true);
    expect(await notifications('run-ok-1')).toEqual([]);
  });

  it('prunes by retention after a good run, and a dry run only says what it would delete', async () => {
    // Prepare
    const name = await target('bk-prune');
    for (const id of ['run-p-1', 'run-p-2', 'run-p-3']) {
      const r = await run({ target: name }, id);
      expect(r.status, r.cause).toBe('SUCCEEDED');
    }

    // Act
    const preview = await run({ target: name, dryRun: true }, 'run-p-dry');

    // Assess: count 2 for the dump, 1 for the snapshot
    const entries = await catalogue.list(name);
    const live = (backup: string) =>
      entries.filter((e) => e.backup === backup && e.outcome === 'good').map((e) => e.runId);
    expect(live('data').sort()).toEqual(['run-p-2', 'run-p-3']);
    expect(live('files')).toEqual(['run-p-3']);
    expect(
      entries
        .filter((e) => e.outcome === 'deleted')
        .map((e) => `${e.backup}:${e.runId}`)
        .sort(),
    ).toEqual(['data:run-p-1', 'files:run-p-1', 'files:run-p-2']);
    expect(
      existsSync(
        entries.find((e) => e.backup === 'data' && e.runId === 'run-p-1')!.location.replace('file://', ''),
      ),
    ).toBe(false);
    expect(preview.status).toBe('SUCCEEDED');
    expect(entered(preview, 1)).not.toContain('[0] StartJob');
    expect(JSON.stringify(preview.output)).toContain('dry run');
  });

  it('a dump that fails midway uploads nothing, is recorded failed, alerts, and prunes nothing', async () => {
    // Prepare: one good run first
    const name = await target('bk-fail');
    expect((await run({ target: name, backup: 'data' }, 'run-f-1')).status).toBe('SUCCEEDED');
    registerTarget({
      ...(await import('../../shared/config/registry.ts')).findTarget(name),
      backup: [
        {
          name: 'data',
          type: 'dump',
          script: 'echo partial > "$STEPOPS_DUMP_FILE"\necho "disk full" >&2\nexit 3',
          timeout: 30,
          bucket: 'test-backups',
          prefix: 'dumps',
          schedule: 'cron(0 2 * * ? *)',
          retention: { count: 1 },
        },
      ],
    } as TargetInput);

    // Act
    const result = await run({ target: name, backup: 'data' }, 'run-f-2');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('BackupFailedError');
    expect(result.cause).toContain('disk full');
    const entries = await catalogue.list(name, 'data');
    expect(entries.map((e) => [e.runId, e.outcome])).toEqual([
      ['run-f-2', 'failed'],
      ['run-f-1', 'good'],
    ]);
    const objects = await new LocalObjectStore().list('test-backups', `dumps/${name}/data/`);
    expect(objects.map((o) => o.key)).toEqual([expect.stringContaining('run-f-1')]);
    expect(entered(result, 1)).not.toContain('[0] PruneBackups');
    const [alert] = await notifications('run-f-2');
    expect(alert).toMatchObject({ workflow: 'backup', outcome: 'failed', error: 'BackupFailedError' });
  });

  it('restore test: restores the newest good dump into scratch, checks it and records the result', async () => {
    // Prepare
    const name = await target('bk-restore');
    expect((await run({ target: name, backup: 'data' }, 'run-r-1')).status).toBe('SUCCEEDED');

    // Act
    const result = await run({ target: name, task: 'restore-test' }, 'run-r-test');

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const [entry] = await catalogue.list(name, 'data');
    expect(entry?.restoreTest).toMatchObject({ ok: true, runId: 'run-r-test' });
  });

  it('a failed restore test (the check fails) is recorded and alerts', async () => {
    // Prepare
    const name = await target(
      'bk-restore-bad',
      {},
      {
        restoreTest: {
          schedule: 'rate(7 days)',
          script: 'tar -C "$STEPOPS_SCRATCH_DIR" -xzf "$STEPOPS_RESTORE_FILE"',
          check: 'test "$(wc -l < "$STEPOPS_SCRATCH_DIR/rows.txt")" -ge 100',
          timeout: 30,
        },
      },
    );
    expect((await run({ target: name, backup: 'data' }, 'run-rb-1')).status).toBe('SUCCEEDED');

    // Act
    const result = await run({ target: name, task: 'restore-test' }, 'run-rb-test');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RestoreTestFailedError');
    const [entry] = await catalogue.list(name, 'data');
    expect(entry?.restoreTest).toMatchObject({ ok: false });
    expect(entry?.restoreTest?.detail).toContain('check data failed');
    expect(await notifications('run-rb-test')).toHaveLength(1);
  });

  it('freshness: alerts when the newest good copy is older than the RPO, even though no run failed', async () => {
    // Prepare
    const name = await target('bk-stale');
    await catalogue.put({
      target: name,
      backup: 'data',
      runId: 'old-run',
      kind: 'dump',
      location: 'file:///nowhere',
      resources: [{ id: 'dumps/x' }],
      startedAt: new Date(Date.now() - 30 * 3600_000).toISOString(),
      outcome: 'good',
    });

    // Act
    const result = await run({ target: name, task: 'freshness' }, 'run-stale');

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('BackupStaleError');
    expect(result.cause).toMatch(/data newest good copy 3\d(\.\d)? h old \(RPO 24 h\)/);
    expect(await notifications('run-stale')).toHaveLength(1);
  });

  it('bad input fails at the plan: nothing is taken, and the alert names the problem', async () => {
    // Prepare
    const name = await target('bk-bad');

    // Act
    const unknownBackup = await run({ target: name, backup: 'nope' }, 'run-bad-1');
    const badShape = await run({ target: name, extra: 1 }, 'run-bad-2');

    // Assess
    expect(unknownBackup.status).toBe('FAILED');
    expect(unknownBackup.error).toBe('InvalidInputError');
    expect(unknownBackup.cause).toContain('has no backup "nope" (backups: data, files)');
    expect(entered(unknownBackup)).toEqual(['PlanBackup', 'Notify', 'RunSucceeded', 'Failed']);
    expect(badShape.cause).toContain('extra');
    expect(await catalogue.list(name)).toEqual([]);
  });

  it('a crash between taking and recording leaves an orphan the next run records by its tags', async () => {
    // Prepare: start a snapshot as a run would, then "crash" before recording it
    const name = await target('bk-orphan');
    const deps = backupDepsWith(ALL_BACKUP_FACTORIES);
    await startBackupStep(
      { target: name, runId: 'run-crashed', job: { name: 'files', type: 'ebs-snapshot' } },
      deps,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The crashed run's lease of the job has run out since, as a dead run's does.
    await deps.drivers(findTarget(name)).leases.release(backupLeaseKey(name, 'files'), 'run-crashed');

    // Act
    const result = await run({ target: name, backup: 'files' }, 'run-after-crash');

    // Assess: adopted as good, then pruned by count 1 (the new run is the newest)
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const orphan = await catalogue.get(name, 'files', 'run-crashed');
    expect(orphan).toMatchObject({ adopted: true, outcome: 'deleted' });
    expect(JSON.stringify(result.output)).not.toContain('failed');
  });

  it('a record step that cannot write the catalogue fails the run and alerts', async () => {
    // Prepare
    const name = await target('bk-nocat');
    const failing: LambdaHandler = async () => {
      throw Object.assign(new Error('catalogue unavailable'), { name: 'CatalogueError' });
    };

    // Act
    const result = await run({ target: name, backup: 'data' }, 'run-nocat', {
      [LOCAL_BACKUP_ARNS['record-backup']]: failing,
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('BackupFailedError');
    expect(result.cause).toContain('catalogue unavailable');
    expect(entered(result, 1)).toContain('[0] JobUnrecorded');
  });

  it('takes the jobs in parallel when the target says so, and announces success when a job asks', async () => {
    // Prepare
    const name = await target(
      'bk-parallel',
      { backupOptions: { parallel: true } },
      { notifyOnSuccess: true },
    );

    // Act
    const result = await run({ target: name }, 'run-parallel');

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const planned = result.trace.events.find((e) => e.kind === 'state-exited' && e.state === 'PlanBackup');
    expect(
      (planned?.output as { plan?: { maxConcurrency?: number } } | undefined)?.plan?.maxConcurrency,
    ).toBe(0);
    expect(result.output).toMatchObject({ outcome: 'succeeded', notified: true });
    const [announced] = await notifications('run-parallel');
    expect(announced).toMatchObject({ workflow: 'backup', outcome: 'succeeded' });
    expect(announced?.summary).toContain('backups of bk-parallel passed: data good, files good');
  });
});
