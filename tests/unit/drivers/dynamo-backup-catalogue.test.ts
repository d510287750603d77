/**
 * DynamoBackupCatalogue against a DynamoDB-compatible server (dynalite), on the backups table's real
 * key schema and index: items keyed by job and run, Query by job and through the `byTarget` index,
 * pages past DynamoDB's 1 MB per Query, and the conditional create that adoption relies on.
 */
import { describe, expect, it } from 'vitest';
import { DynamoBackupCatalogue } from '../../../shared/drivers/aws/dynamo-backup-catalogue.ts';
import { BACKUPS_TABLE } from '../../../shared/drivers/aws/dynamo-tables.ts';
import type { CatalogueEntry } from '../../../shared/drivers/ports.ts';
import { useDynalite } from '../../helpers/dynalite.ts';

const dynamo = useDynalite();

function entry(
  target: string,
  backup: string,
  runId: string,
  day: number,
  extra: Partial<CatalogueEntry> = {},
): CatalogueEntry {
  return {
    target,
    backup,
    runId,
    kind: 'ebs-snapshot',
    location: `ec2:eu-west-1:snap-${runId}`,
    resources: [{ id: `snap-${runId}`, region: 'eu-west-1' }],
    startedAt: new Date(Date.UTC(2026, 0, day, 2)).toISOString(),
    outcome: 'good',
    ...extra,
  };
}

async function catalogue(): Promise<DynamoBackupCatalogue> {
  const { name } = await dynamo.table(BACKUPS_TABLE);
  return new DynamoBackupCatalogue(name, { client: dynamo.client() });
}

describe('DynamoBackupCatalogue on dynalite', () => {
  it('reads back what it put, by target, backup and run; nothing for another run', async () => {
    // Prepare
    const subject = await catalogue();
    const stored = entry('shop', 'mongodb', 'run-1', 1, { sha256: 'a'.repeat(64), sizeBytes: 10 });

    // Act
    await subject.put(stored);

    // Assess
    expect(await subject.get('shop', 'mongodb', 'run-1')).toEqual(stored);
    expect(await subject.get('shop', 'mongodb', 'run-2')).toBeUndefined();
    expect(await subject.get('shop', 'volumes', 'run-1')).toBeUndefined();
  });

  it('replaces the entry of a run on put', async () => {
    const subject = await catalogue();
    await subject.put(entry('shop', 'volumes', 'run-1', 1));
    await subject.put(
      entry('shop', 'volumes', 'run-1', 1, { outcome: 'deleted', deletedAt: '2026-02-01T00:00:00.000Z' }),
    );
    expect(await subject.list('shop', 'volumes')).toEqual([
      entry('shop', 'volumes', 'run-1', 1, { outcome: 'deleted', deletedAt: '2026-02-01T00:00:00.000Z' }),
    ]);
  });

  it('lists one job newest first, and a whole target through its index, never another target’s', async () => {
    // Prepare
    const subject = await catalogue();
    await subject.put(entry('shop', 'volumes', 'run-2', 2));
    await subject.put(entry('shop', 'volumes', 'run-3', 3));
    await subject.put(entry('shop', 'mongodb', 'run-4', 4));
    await subject.put(entry('shop', 'volumes', 'run-1', 1));
    await subject.put(entry('shopping', 'volumes', 'run-9', 9));
    await subject.put(entry('sho', 'p#volumes', 'run-8', 8));

    // Act
    const job = await subject.list('shop', 'volumes');
    const all = await subject.list('shop');

    // Assess
    expect(job.map((e) => e.runId)).toEqual(['run-3', 'run-2', 'run-1']);
    expect(all.map((e) => `${e.backup}/${e.runId}`)).toEqual([
      'mongodb/run-4',
      'volumes/run-3',
      'volumes/run-2',
      'volumes/run-1',
    ]);
  });

  it('lists every entry when they span several 1 MB Query pages', async () => {
    // Prepare: 12 entries of ~150 KB each, about 1.8 MB
    const subject = await catalogue();
    const big = 'x'.repeat(150_000);
    for (let day = 1; day <= 12; day += 1) {
      await subject.put(entry('shop', 'volumes', `run-${day}`, day, { outcome: 'failed', error: big }));
    }

    // Act
    const job = await subject.list('shop', 'volumes');
    const all = await subject.list('shop');

    // Assess
    const expected = Array.from({ length: 12 }, (_, i) => `run-${12 - i}`);
    expect(job.map((e) => e.runId)).toEqual(expected);
    expect(all.map((e) => e.runId)).toEqual(expected);
  });

  it('creates an entry only when its run has none, leaving a recorded entry as it is', async () => {
    // Prepare
    const subject = await catalogue();
    const recorded = entry('shop', 'mongodb', 'run-1', 1, { kind: 'dump', sha256: 'b'.repeat(64) });
    await subject.put(recorded);
    const adoption = (runId: string) =>
      entry('shop', 'mongodb', runId, 1, {
        kind: 'dump',
        outcome: 'failed',
        adopted: true,
        error: 'unverified',
      });

    // Act
    const overRecorded = await subject.create(adoption('run-1'));
    const fresh = await subject.create(adoption('run-2'));
    const again = await subject.create({ ...adoption('run-2'), error: 'second adopter' });

    // Assess
    expect([overRecorded, fresh, again]).toEqual([false, true, false]);
    expect(await subject.get('shop', 'mongodb', 'run-1')).toEqual(recorded);
    expect(await subject.get('shop', 'mongodb', 'run-2')).toEqual(adoption('run-2'));
  });

  it('lets exactly one of several adopters create the same entry at once', async () => {
    // Prepare
    const subject = await catalogue();

    // Act
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        subject.create(entry('shop', 'volumes', 'run-1', 1, { adopted: true, error: `adopter ${i}` })),
      ),
    );

    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await subject.get('shop', 'volumes', 'run-1'))?.error).toBe(`adopter ${results.indexOf(true)}`);
  });
});
