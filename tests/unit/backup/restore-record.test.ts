/**
 * record-restore-test reads a copy's catalogue entry and writes it back with the test's result: on
 * both real catalogues (the file one, and DynamoDB on dynalite), a prune that marks the copy
 * `deleting` or `deleted` between the read and the write is never undone by that write.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDepsWith } from '../../../shared/backup/deps.ts';
import { recordRestoreTestStep } from '../../../shared/backup/steps/record-restore-test.ts';
import { clearRegisteredTargets, registerTarget } from '../../../shared/config/registry.ts';
import type { TargetInput } from '../../../shared/config/schema.ts';
import { DynamoBackupCatalogue } from '../../../shared/drivers/aws/dynamo-backup-catalogue.ts';
import { BACKUPS_TABLE } from '../../../shared/drivers/aws/dynamo-tables.ts';
import { FileBackupCatalogue } from '../../../shared/drivers/local/file-backup-catalogue.ts';
import type { BackupCatalogue, CatalogueEntry } from '../../../shared/drivers/ports.ts';
import { useDynalite } from '../../helpers/dynalite.ts';

const dynamo = useDynalite();
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-restore-record-'));
});
afterAll(async () => {
  clearRegisteredTargets();
  await rm(root, { recursive: true, force: true });
});

const stores = {
  file: async (name: string): Promise<BackupCatalogue> =>
    new FileBackupCatalogue({ home: () => path.join(root, name) }),
  dynamodb: async (): Promise<BackupCatalogue> =>
    new DynamoBackupCatalogue((await dynamo.table(BACKUPS_TABLE)).name, { client: dynamo.client() }),
};

function target(name: string): void {
  registerTarget({
    name,
    description: `restore record test target ${name}`,
    hosts: { type: 'local', directory: path.join(root, name, 'host') },
    backup: [
      { name: 'files', type: 'ebs-snapshot', schedule: 'cron(30 2 * * ? *)', retention: { count: 3 } },
    ],
  } as TargetInput);
}

const good = (name: string): CatalogueEntry => ({
  target: name,
  backup: 'files',
  runId: 'run-copy',
  kind: 'ebs-snapshot',
  location: 'dir:///copies/run-copy',
  resources: [{ id: 'run-copy', region: 'local' }],
  startedAt: '2026-01-01T02:30:00.000Z',
  outcome: 'good',
});

/** The catalogue, with `change` applied to the stored entry right after the step's first read. */
function changedAfterFirstRead(
  catalogue: BackupCatalogue,
  change: (entry: CatalogueEntry) => CatalogueEntry,
): BackupCatalogue {
  let reads = 0;
  return {
    put: (entry) => catalogue.put(entry),
    create: (entry) => catalogue.create(entry),
    replaceIf: (entry, outcome) => catalogue.replaceIf(entry, outcome),
    list: (...args) => catalogue.list(...args),
    async get(...args) {
      const entry = await catalogue.get(...args);
      if (entry && reads++ === 0) await catalogue.put(change(entry));
      return entry;
    },
  };
}

const passed = (name: string) => ({
  target: name,
  runId: 'run-test',
  job: { name: 'files', type: 'ebs-snapshot' as const },
  attempt: {
    status: {
      status: 'passed' as const,
      detail: 'restored and read back',
      polls: 1,
      handle: {
        target: name,
        runId: 'run-test',
        backup: 'files',
        kind: 'ebs-snapshot' as const,
        copyRunId: 'run-copy',
        deadline: Date.UTC(2026, 0, 2),
      },
    },
  },
});

describe.each(Object.keys(stores) as (keyof typeof stores)[])('recording a restore test (%s)', (kind) => {
  it('keeps a copy deleted by a prune between its read and its write deleted', async () => {
    // Prepare
    const name = `restore-deleted-${kind}`;
    target(name);
    const catalogue = await stores[kind](name);
    await catalogue.put(good(name));
    const deleted = (entry: CatalogueEntry): CatalogueEntry => ({
      ...entry,
      outcome: 'deleted',
      error: 'retention: count 3',
      deletedAt: '2026-01-05T02:30:00.000Z',
    });
    const deps = backupDepsWith({ catalogue: () => changedAfterFirstRead(catalogue, deleted) });

    // Act
    const recorded = await recordRestoreTestStep(passed(name), deps);

    // Assess: still deleted, and the result written over what the prune left
    expect(recorded).toMatchObject({ outcome: 'passed', copyRunId: 'run-copy' });
    const entry = await catalogue.get(name, 'files', 'run-copy');
    expect(entry).toMatchObject({ outcome: 'deleted', deletedAt: '2026-01-05T02:30:00.000Z' });
    expect(entry?.restoreTest).toMatchObject({ ok: true, runId: 'run-test' });
  });

  it('records the result on a copy no one changed, and creates no entry for a copy the catalogue lacks', async () => {
    // Prepare
    const name = `restore-plain-${kind}`;
    target(name);
    const catalogue = await stores[kind](name);
    await catalogue.put(good(name));
    const deps = backupDepsWith({ catalogue: () => catalogue });
    const other = passed(name);
    other.attempt.status.handle.copyRunId = 'run-missing';

    // Act
    await recordRestoreTestStep(passed(name), deps);
    await recordRestoreTestStep(other, deps);

    // Assess
    expect(await catalogue.get(name, 'files', 'run-copy')).toMatchObject({
      outcome: 'good',
      restoreTest: { ok: true, detail: 'restored and read back' },
    });
    expect(await catalogue.get(name, 'files', 'run-missing')).toBeUndefined();
  });

  it('refuses to replace an entry whose outcome is not the one read, and never creates one', async () => {
    // Prepare
    const name = `restore-cond-${kind}`;
    const catalogue = await stores[kind](name);
    await catalogue.put({ ...good(name), outcome: 'deleting', deletingFrom: 'good' });

    // Act
    const stale = await catalogue.replaceIf({ ...good(name), error: 'stale' }, 'good');
    const absent = await catalogue.replaceIf({ ...good(name), runId: 'run-none' }, 'good');
    const current = await catalogue.replaceIf({ ...good(name), outcome: 'deleted' }, 'deleting');

    // Assess
    expect([stale, absent, current]).toEqual([false, false, true]);
    expect(await catalogue.get(name, 'files', 'run-copy')).toMatchObject({ outcome: 'deleted' });
    expect(await catalogue.get(name, 'files', 'run-none')).toBeUndefined();
  });
});
