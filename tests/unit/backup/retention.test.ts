import { describe, expect, it } from 'vitest';
import { decidePrune, type RetentionCopy } from '../../../shared/backup/retention.ts';

const DAY = 86_400_000;
const NOW = new Date('2026-06-30T12:00:00Z');

/** One copy a day at 02:00 for `days` days up to NOW, newest last; `failed` picks the failures. */
function daily(days: number, failed: (i: number) => boolean = () => false): RetentionCopy[] {
  return Array.from({ length: days }, (_, i) => {
    const at = new Date(Date.UTC(2026, 5, 30, 2) - (days - 1 - i) * DAY);
    return {
      runId: `run-${String(i).padStart(4, '0')}`,
      startedAt: at.toISOString(),
      outcome: failed(i) ? 'failed' : 'good',
      catalogued: true,
      tagged: true,
    };
  });
}

const ids = (verdicts: { runId: string }[]) => verdicts.map((v) => v.runId).sort();

describe('decidePrune', () => {
  it('keeps the newest count and deletes the rest of a 400-day sequence', () => {
    // Prepare
    const copies = daily(400);

    // Act
    const decision = decidePrune(copies, { count: 7 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(ids(decision.keep)).toEqual(ids(copies.slice(-7)));
    expect(decision.delete).toHaveLength(393);
    expect(decision.untouchable).toEqual([]);
  });

  it('keeps by age, and a copy kept by either rule when both count and days are given', () => {
    // Prepare
    const copies = daily(60);

    // Act
    const decision = decidePrune(copies, { days: 30, count: 40 }, { now: NOW, lastRunFailed: false });

    // Assess: the newest 40 are kept (more than the 30 days' worth)
    expect(decision.keep).toHaveLength(40);
    expect(ids(decision.delete)).toEqual(ids(copies.slice(0, 20)));
  });

  it('keeps one per day, ISO week and month with daily/weekly/monthly over two years', () => {
    // Prepare: two copies a day for 730 days
    const copies = daily(730).flatMap((c, i) => [
      c,
      {
        ...c,
        runId: `${c.runId}-b`,
        startedAt: new Date(Date.parse(c.startedAt) + 6 * 3600_000).toISOString(),
      },
      ...(i === -1 ? [c] : []),
    ]);

    // Act
    const decision = decidePrune(
      copies,
      { daily: 7, weekly: 4, monthly: 12 },
      { now: NOW, lastRunFailed: false },
    );

    // Assess: at most 7 + 4 + 12 copies kept, one per bucket, the newest of each day
    expect(decision.keep.length).toBeLessThanOrEqual(23);
    expect(decision.keep.length).toBeGreaterThanOrEqual(12);
    const keptDays = decision.keep.map((v) => v.startedAt.slice(0, 10));
    expect(new Set(keptDays).size).toBe(keptDays.length);
    for (const kept of decision.keep) expect(kept.startedAt.slice(11, 13)).toBe('08');
    const months = new Set(decision.keep.map((v) => v.startedAt.slice(0, 7)));
    expect(months.size).toBe(12);
    expect(decision.keep.length + decision.delete.length).toBe(copies.length);
  });

  it('never deletes the last good copy, however old, even when every later copy failed', () => {
    // Prepare: 100 days, only day 3 good
    const copies = daily(100, (i) => i !== 3);

    // Act
    const decision = decidePrune(copies, { days: 1 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(decision.keep.map((v) => v.runId)).toContain('run-0003');
    expect(decision.keep.find((v) => v.runId === 'run-0003')?.reason).toContain('the newest good copy');
    expect(decision.delete.map((v) => v.runId)).not.toContain('run-0003');
    // failed copies newer than the only good copy are kept; older failures go
    expect(ids(decision.delete)).toEqual(['run-0000', 'run-0001', 'run-0002']);
  });

  it('deletes nothing when the backup just taken failed', () => {
    // Prepare
    const copies = daily(50);

    // Act
    const decision = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: true });

    // Assess
    expect(decision.delete).toEqual([]);
    expect(decision.keep).toHaveLength(50);
    expect(decision.keep[0]?.reason).toContain('the backup just taken failed');
  });

  it('leaves copies alone unless the catalogue and the tags agree', () => {
    // Prepare
    const copies = daily(10);
    copies[0] = { ...copies[0]!, tagged: false };
    copies[1] = { ...copies[1]!, catalogued: false };
    copies[2] = { ...copies[2]!, tagged: false, catalogued: false };

    // Act
    const decision = decidePrune(copies, { count: 2 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(ids(decision.untouchable)).toEqual(['run-0000', 'run-0001', 'run-0002']);
    expect(decision.untouchable[0]?.reason).toMatch(/not (in the catalogue|tagged by stepops)/);
    expect(ids(decision.delete)).toEqual(['run-0003', 'run-0004', 'run-0005', 'run-0006', 'run-0007']);
  });

  it('never touches a copy still running, and ignores copies already deleted', () => {
    // Prepare
    const copies = daily(5);
    copies[0] = { ...copies[0]!, outcome: 'running' };
    copies[1] = { ...copies[1]!, outcome: 'deleted' };

    // Act
    const decision = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(decision.keep.map((v) => v.runId)).toEqual(['run-0004', 'run-0000']);
    expect(ids(decision.delete)).toEqual(['run-0002', 'run-0003']);
  });

  it('keeps every invariant on random long sequences', () => {
    // Prepare: a small deterministic generator
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 50; round += 1) {
      const copies = daily(200 + round, () => random() < 0.3).map((c) => ({
        ...c,
        tagged: random() > 0.05,
        catalogued: random() > 0.05,
      }));
      const retention = { count: 1 + Math.floor(random() * 10), days: Math.floor(random() * 20) };

      // Act
      const decision = decidePrune(copies, retention, { now: NOW, lastRunFailed: false });

      // Assess
      const newestGood = [...copies].reverse().find((c) => c.outcome === 'good');
      if (newestGood) expect(ids(decision.delete)).not.toContain(newestGood.runId);
      for (const v of decision.delete) {
        const copy = copies.find((c) => c.runId === v.runId)!;
        expect(copy.tagged && copy.catalogued).toBe(true);
      }
      expect(decision.keep.length + decision.delete.length + decision.untouchable.length).toBe(copies.length);
    }
  });
});
