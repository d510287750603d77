/**
 * What retention may delete, written out here through the public `decidePrune` only (its module is
 * being rewritten; these rules hold for any version): the newest good copy is never deleted;
 * nothing is deleted after a failed backup; a running copy, or one not both catalogued and tagged
 * by stepops, is never deleted; `count` and `days` each decide alone, and `days` counts days.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decidePrune, type RetentionCopy } from '../../shared/backup/retention.ts';
import type { BackupRetention } from '../../shared/config/schema.ts';

const NOW = new Date('2026-03-20T12:00:00.000Z');
const HOUR = 3_600_000;

/** A good, catalogued and tagged copy taken `hoursAgo` before NOW. */
function copy(runId: string, hoursAgo: number, extra: Partial<RetentionCopy> = {}): RetentionCopy {
  return {
    runId,
    startedAt: new Date(NOW.getTime() - hoursAgo * HOUR).toISOString(),
    outcome: 'good',
    catalogued: true,
    tagged: true,
    ...extra,
  };
}

const deleted = (copies: RetentionCopy[], retention: BackupRetention, lastRunFailed = false) =>
  decidePrune(copies, retention, { now: NOW, lastRunFailed })
    .delete.map((v) => v.runId)
    .sort();

/** Twenty good copies, one every 12 hours: c0 (now) … c19 (9.5 days ago). */
const twiceADay = Array.from({ length: 20 }, (_, i) => copy(`c${String(i).padStart(2, '0')}`, 12 * i));
const names = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `c${String(from + i).padStart(2, '0')}`);

describe('what retention may delete', () => {
  it('keeps the newest `count` good copies when count is the only rule', () => {
    expect(deleted(twiceADay, { count: 5 })).toEqual(names(5, 20));
    expect(deleted(twiceADay, { count: 1 })).toEqual(names(1, 20));
    expect(deleted(twiceADay, { count: 20 })).toEqual([]);
  });

  it('keeps the copies younger than `days` DAYS when days is the only rule', () => {
    // 3 days = 72 hours: c00 … c06 (72 h ago, on the limit) are kept.
    expect(deleted(twiceADay, { days: 3 })).toEqual(names(7, 20));
    // A week: c00 … c14 (168 h ago) are kept; a rule read in hours would delete a week of backups.
    expect(deleted(twiceADay, { days: 7 })).toEqual(names(15, 20));
    expect(deleted(twiceADay, { days: 30 })).toEqual([]);
  });

  it('keeps what either rule keeps when both are given', () => {
    expect(deleted(twiceADay, { count: 10, days: 3 })).toEqual(names(10, 20));
    expect(deleted(twiceADay, { count: 2, days: 7 })).toEqual(names(15, 20));
  });

  it('never deletes the newest good copy, even when every rule would', () => {
    // Prepare: the only good copy is old, newer ones failed.
    const copies = [
      copy('failed-1', 1, { outcome: 'failed' }),
      copy('failed-2', 2, { outcome: 'failed' }),
      copy('old-good', 24 * 90),
      copy('older-good', 24 * 91),
    ];

    // Act
    const decision = decidePrune(copies, { days: 7 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(decision.delete.map((v) => v.runId)).toEqual(['older-good']);
    expect(decision.keep.map((v) => v.runId)).toEqual(
      expect.arrayContaining(['old-good', 'failed-1', 'failed-2']),
    );
  });

  it('deletes nothing when the backup just taken failed', () => {
    expect(deleted(twiceADay, { count: 1 }, true)).toEqual([]);
  });

  it('never deletes a running copy, nor one missing from the catalogue or its stepops tags', () => {
    // Prepare
    const copies = [
      copy('new', 0),
      copy('running', 24 * 40, { outcome: 'running' }),
      copy('uncatalogued', 24 * 41, { catalogued: false }),
      copy('untagged', 24 * 42, { tagged: false }),
      copy('plain', 24 * 43),
    ];

    // Act
    const decision = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(decision.delete.map((v) => v.runId)).toEqual(['plain']);
    expect(decision.untouchable.map((v) => v.runId).sort()).toEqual(['uncatalogued', 'untagged']);
  });

  it('for any catalogue and retention: never deletes the newest good copy, a running, untagged or uncatalogued one, or anything after a failed run (property)', () => {
    // Prepare
    const copyArb = fc.record({
      hoursAgo: fc.integer({ min: 0, max: 24 * 120 }),
      outcome: fc.constantFrom('good', 'good', 'failed', 'running', 'deleted'),
      catalogued: fc.boolean(),
      tagged: fc.boolean(),
    });
    const rule = fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined });
    const retentionArb = fc
      .record({ count: rule, days: rule, daily: rule, weekly: rule, monthly: rule })
      .filter((r) => Object.values(r).some((v) => v !== undefined && v > 0));

    // Assess
    fc.assert(
      fc.property(
        fc.array(copyArb, { maxLength: 25 }),
        retentionArb,
        fc.boolean(),
        (specs, retention, failed) => {
          const copies = specs.map((s, i) =>
            copy(`r${String(i).padStart(2, '0')}`, s.hoursAgo, {
              outcome: s.outcome as RetentionCopy['outcome'],
              catalogued: s.catalogued,
              tagged: s.tagged,
            }),
          );
          const clean = Object.fromEntries(Object.entries(retention).filter(([, v]) => v !== undefined));
          const gone = new Set(deleted(copies, clean as BackupRetention, failed));
          if (failed) expect(gone.size).toBe(0);
          const good = copies.filter((c) => c.outcome === 'good');
          const newest = Math.max(...good.map((c) => Date.parse(c.startedAt)));
          // Of the good copies of the newest instant (a tie), at least one stays.
          const newestGood = good.filter((c) => Date.parse(c.startedAt) === newest);
          if (newestGood.length > 0) expect(newestGood.some((c) => !gone.has(c.runId))).toBe(true);
          for (const c of copies) {
            if (c.outcome === 'running' || c.outcome === 'deleted' || !c.catalogued || !c.tagged) {
              expect(gone.has(c.runId), c.runId).toBe(false);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
