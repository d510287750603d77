/**
 * The backup lease and the conditional adoption, on the real steps with real adapters: the file
 * lease store and catalogue, and the DynamoDB lease store and catalogue on dynalite. Interleavings
 * that two concurrent runs produce are injected at the exact point they hurt.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_BACKUP_FACTORIES } from '../../../shared/backup/all-drivers.ts';
import { type BackupDeps, backupDepsWith } from '../../../shared/backup/deps.ts';
import { backupLeaseKey } from '../../../shared/backup/lease.ts';
import { notifyBackupStep } from '../../../shared/backup/steps/notify-backup.ts';
import { pollBackupStep } from '../../../shared/backup/steps/poll-backup.ts';
import { pruneBackupsStep } from '../../../shared/backup/steps/prune-backups.ts';
import { recordBackupStep } from '../../../shared/backup/steps/record-backup.ts';
import { startBackupStep } from '../../../shared/backup/steps/start-backup.ts';
import { clearRegisteredTargets, findTarget, registerTarget } from '../../../shared/config/registry.ts';
import type { TargetInput } from '../../../shared/config/schema.ts';
import { DynamoBackupCatalogue } from '../../../shared/drivers/aws/dynamo-backup-catalogue.ts';
import { DynamoLeaseStore } from '../../../shared/drivers/aws/dynamo-lease-store.ts';
import { BACKUPS_TABLE, STATE_TABLE } from '../../../shared/drivers/aws/dynamo-tables.ts';
import { FileBackupCatalogue } from '../../../shared/drivers/local/file-backup-catalogue.ts';
import { FileLeaseStore } from '../../../shared/drivers/local/file-lease-store.ts';
import type { BackupCatalogue, LeaseStore, Notification } from '../../../shared/drivers/ports.ts';
import { useDynalite } from '../../helpers/dynalite.ts';

const dynamo = useDynalite();
let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stepops-backup-lease-'));
});
afterAll(async () => {
  clearRegisteredTargets();
  await rm(root, { recursive: true, force: true });
});

/** A local target with one directory-snapshot job, `files`, kept 3 deep; its own state directory. */
async function localTarget(name: string): Promise<{ home: string }> {
  const home = path.join(root, name);
  await mkdir(path.join(home, 'host', 'data'), { recursive: true });
  await writeFile(path.join(home, 'host', 'data', 'rows.txt'), 'one\n');
  registerTarget({
    name,
    description: `backup lease test target ${name}`,
    hosts: { type: 'local', directory: path.join(home, 'host') },
    backup: [
      { name: 'files', type: 'ebs-snapshot', schedule: 'cron(30 2 * * ? *)', retention: { count: 3 } },
    ],
  } as TargetInput);
  process.env.STEPOPS_HOME = home;
  return { home };
}

/** The real backup dependencies with the given catalogue and lease store. */
function depsWith(catalogue: BackupCatalogue, leases: LeaseStore): BackupDeps {
  return backupDepsWith({ ...ALL_BACKUP_FACTORIES, catalogue: () => catalogue, leases: () => leases });
}

/** Waits for the directory copies this process started. */
async function settle(deps: BackupDeps, target: string): Promise<void> {
  await (deps.drivers(findTarget(target)).copies as unknown as { settle(): Promise<void> }).settle();
}

const stores = {
  file: async (home: string) => ({
    catalogue: new FileBackupCatalogue({ home: () => home }) as BackupCatalogue,
    leases: new FileLeaseStore({ home: () => home }) as LeaseStore,
  }),
  dynamodb: async () => ({
    catalogue: new DynamoBackupCatalogue((await dynamo.table(BACKUPS_TABLE)).name, {
      client: dynamo.client(),
    }),
    leases: new DynamoLeaseStore((await dynamo.table(STATE_TABLE)).name, { client: dynamo.client() }),
  }),
};

describe.each(Object.keys(stores) as (keyof typeof stores)[])('the backup lease (%s)', (kind) => {
  it('refuses to start a second run of a job while the first holds it, starting nothing', async () => {
    // Prepare
    const name = `lease-start-${kind}`;
    const { home } = await localTarget(name);
    const { catalogue, leases } = await stores[kind](home);
    const deps = depsWith(catalogue, leases);
    const job = { name: 'files', type: 'ebs-snapshot' as const };
    await startBackupStep({ target: name, runId: 'run-a', job }, deps);
    await settle(deps, name);

    // Act
    const second = startBackupStep({ target: name, runId: 'run-b', job }, deps);

    // Assess
    await expect(second).rejects.toMatchObject({ name: 'TargetLockedError' });
    await expect(second).rejects.toThrow(/backup "files" of lease-start-\w+ is being taken by run run-a/);
    const copies = await deps.drivers(findTarget(name)).copies.listTagged({
      kind: 'ebs-snapshot',
      target: name,
      backup: 'files',
    });
    expect(copies.map((c) => c.runId)).toEqual(['run-a']);
    expect((await leases.holder(backupLeaseKey(name, 'files')))?.owner).toBe('run-a');
  });

  it('never lets an adoption overwrite what the copy’s own run recorded after the prune listed the catalogue', async () => {
    // Prepare: run A took a copy; its lease ran out before it recorded (a late record step)
    const name = `lease-adopt-${kind}`;
    const { home } = await localTarget(name);
    const { catalogue, leases } = await stores[kind](home);
    const job = { name: 'files', type: 'ebs-snapshot' as const };
    const handle = await startBackupStep({ target: name, runId: 'run-a', job }, depsWith(catalogue, leases));
    await settle(depsWith(catalogue, leases), name);
    await leases.release(backupLeaseKey(name, 'files'), 'run-a');
    const status = await pollBackupStep({ handle }, depsWith(catalogue, leases), () => 60_000);
    await leases.release(backupLeaseKey(name, 'files'), 'run-a');
    // Run A records its copy right after run B's prune has listed the catalogue.
    let recorded = false;
    const interleaved: BackupCatalogue = {
      put: (entry) => catalogue.put(entry),
      create: (entry) => catalogue.create(entry),
      replaceIf: (entry, outcome) => catalogue.replaceIf(entry, outcome),
      get: (...args) => catalogue.get(...args),
      async list(target, backup) {
        const entries = await catalogue.list(target, backup);
        if (!recorded) {
          recorded = true;
          await recordBackupStep(
            { target: name, runId: 'run-a', job, attempt: { handle, status } },
            depsWith(catalogue, leases),
          );
        }
        return entries;
      },
    };

    // Act
    const pruned = await pruneBackupsStep(
      { target: name, runId: 'run-b', backup: 'files', lastOutcome: 'good', dryRun: false },
      depsWith(interleaved, leases),
    );

    // Assess: run A's own record stands, with its finish time; nothing was adopted
    expect(status.status, status.detail).toBe('completed');
    expect(pruned.adopted).toEqual([]);
    const entry = await catalogue.get(name, 'files', 'run-a');
    expect(entry).toMatchObject({ outcome: 'good', runId: 'run-a' });
    expect(entry).not.toHaveProperty('adopted');
  });

  it('adopts and deletes nothing when another run holds the job’s lease', async () => {
    // Prepare: an orphan copy, and run C holding the job
    const name = `lease-prune-${kind}`;
    const { home } = await localTarget(name);
    const { catalogue, leases } = await stores[kind](home);
    const job = { name: 'files', type: 'ebs-snapshot' as const };
    await startBackupStep({ target: name, runId: 'run-orphan', job }, depsWith(catalogue, leases));
    await settle(depsWith(catalogue, leases), name);
    await leases.release(backupLeaseKey(name, 'files'), 'run-orphan');
    await leases.acquire(backupLeaseKey(name, 'files'), 'run-c', 600);

    // Act
    const prune = pruneBackupsStep(
      { target: name, runId: 'run-b', backup: 'files', lastOutcome: 'good', dryRun: false },
      depsWith(catalogue, leases),
    );

    // Assess
    await expect(prune).rejects.toMatchObject({ name: 'LeaseLostError' });
    await expect(prune).rejects.toThrow(/run run-c took it/);
    expect(await catalogue.list(name, 'files')).toEqual([]);
    expect((await leases.holder(backupLeaseKey(name, 'files')))?.owner).toBe('run-c');
  });

  it('renews the lease on each poll, and stops a run whose lease another run took', async () => {
    // Prepare
    const name = `lease-poll-${kind}`;
    const { home } = await localTarget(name);
    const { catalogue, leases } = await stores[kind](home);
    const deps = depsWith(catalogue, leases);
    const job = { name: 'files', type: 'ebs-snapshot' as const };
    const handle = await startBackupStep({ target: name, runId: 'run-a', job }, deps);
    await settle(deps, name);
    const key = backupLeaseKey(name, 'files');
    // Shorten the lease as if it were about to run out; the poll must extend it.
    await leases.acquire(key, 'run-a', 5);

    // Act
    await pollBackupStep({ handle }, deps, () => 60_000);
    const renewed = await leases.holder(key);
    await leases.release(key, 'run-a');
    await leases.acquire(key, 'run-c', 600);
    const lost = pollBackupStep({ handle }, deps, () => 60_000);

    // Assess
    expect(renewed?.owner).toBe('run-a');
    expect(renewed?.expiresAt).toBeGreaterThan(Math.floor(Date.now() / 1000) + 1_800);
    await expect(lost).rejects.toMatchObject({ name: 'LeaseLostError' });
  });

  it('releases the run’s own leases when it ends, and leaves another run’s', async () => {
    // Prepare
    const name = `lease-notify-${kind}`;
    const { home } = await localTarget(name);
    const { catalogue, leases } = await stores[kind](home);
    const deps = depsWith(catalogue, leases);
    await leases.acquire(backupLeaseKey(name, 'files'), 'run-a', 600);
    const plan = {
      target: name,
      runId: 'run-a',
      task: 'backup' as const,
      dryRun: false,
      parallel: false,
      maxConcurrency: 1,
      jobs: [{ name: 'files', type: 'ebs-snapshot' as const }],
    };

    // Act
    await notifyBackupStep(
      { runId: 'run-b', run: { target: name, plan: { ...plan, runId: 'run-b' } } },
      deps,
    );
    const afterOther = await leases.holder(backupLeaseKey(name, 'files'));
    await notifyBackupStep({ runId: 'run-a', run: { target: name, plan, results: [] } }, deps);

    // Assess
    expect(afterOther?.owner).toBe('run-a');
    expect(await leases.holder(backupLeaseKey(name, 'files'))).toBeUndefined();
  });
});

describe('releasing the backup lease', () => {
  it('still notifies when the release fails, and says the lease expires on its own', async () => {
    // Prepare
    const name = 'lease-release-fails';
    await localTarget(name);
    const published: Notification[] = [];
    const failing = {
      release: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    } as unknown as LeaseStore;
    const deps = backupDepsWith({
      leases: () => failing,
      notifier: () => ({ publish: async (n: Notification) => void published.push(n) }),
    });

    // Act
    const outcome = await notifyBackupStep(
      {
        runId: 'run-a',
        run: {
          target: name,
          plan: {
            target: name,
            runId: 'run-a',
            task: 'backup',
            dryRun: false,
            parallel: false,
            maxConcurrency: 1,
            jobs: [{ name: 'files', type: 'ebs-snapshot' }],
          },
          results: [{ backup: 'files', outcome: 'failed', detail: 'snapshot error' }],
        },
      },
      deps,
    );

    // Assess
    expect(outcome.outcome).toBe('failed');
    expect(outcome.summary).toContain(
      'releasing the backup lease of files (ProvisionedThroughputExceededException) failed: it expires on its own',
    );
    expect(published).toHaveLength(1);
    expect(published[0]?.summary).toBe(outcome.summary);
  });
});
