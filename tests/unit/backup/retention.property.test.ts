/**
 * Properties of `decidePrune` (pure retention) over random copies, dates, tags and restore tests.
 * The expected values are computed here from the rules of retention, never by the code under test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decidePrune, type RetentionCopy } from '../../../shared/backup/retention.ts';
import type { BackupRetention } from '../../../shared/config/schema.ts';

const NOW = new Date('2026-06-30T12:00:00.000Z');
const DAY = 86_400_000;
const SKEW = 5 * 60_000;

/** The same instant in another ISO spelling: without milliseconds when whole, or with an offset. */
function respell(iso: string, how: 'plain' | 'offset'): string {
  if (how === 'plain') return iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso;
  return iso.replace('Z', '+00:00');
}

const copyArb = fc.record({
  at: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: -400 * DAY, max: 0 }) },
    { weight: 1, arbitrary: fc.integer({ min: SKEW + 1000, max: 10 * DAY }) },
    { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }).map((s) => s * 500) },
  ),
  wholeSecond: fc.boolean(),
  outcome: fc.constantFrom<RetentionCopy['outcome']>(
    'good',
    'good',
    'good',
    'failed',
    'running',
    'deleting',
    'deleted',
  ),
  catalogued: fc.constantFrom(true, true, true, false),
  tagged: fc.constantFrom(true, true, true, false),
  verified: fc.constantFrom(false, false, true),
  adopted: fc.constantFrom(false, false, false, true),
  conflict: fc.constantFrom<string | undefined>(
    undefined,
    undefined,
    undefined,
    undefined,
    'shares a resource',
  ),
});

const retentionArb: fc.Arbitrary<BackupRetention> = fc.oneof(
  fc.record({ count: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ days: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ count: fc.integer({ min: 1, max: 3 }), days: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ daily: fc.integer({ min: 1, max: 7 }), weekly: fc.integer({ min: 0, max: 4 }) }),
) as fc.Arbitrary<BackupRetention>;

const copiesArb = fc.array(copyArb, { maxLength: 30 }).map((specs) =>
  specs.map((c, i): RetentionCopy => {
    const at = NOW.getTime() + (c.wholeSecond ? Math.round(c.at / 1000) * 1000 : c.at);
    return {
      runId: `run-${String(i).padStart(2, '0')}`,
      startedAt: new Date(at).toISOString(),
      outcome: c.outcome,
      catalogued: c.catalogued,
      tagged: c.tagged,
      verified: c.verified,
      ...(c.adopted ? { adopted: true } : {}),
      ...(c.conflict ? { conflict: c.conflict } : {}),
    };
  }),
);

const instant = (c: RetentionCopy) => Date.parse(c.startedAt);
const trusted = (c: RetentionCopy) =>
  c.outcome === 'good' &&
  c.catalogued &&
  c.tagged &&
  !c.adopted &&
  !c.conflict &&
  instant(c) <= NOW.getTime() + SKEW;
/** The copies at the newest instant among `copies`. */
function newestOf(copies: RetentionCopy[]): RetentionCopy[] {
  if (copies.length === 0) return [];
  const max = Math.max(...copies.map(instant));
  return copies.filter((c) => instant(c) === max);
}

describe('decidePrune: properties', () => {
  it('deletes only trustworthy copies, never the newest good or verified one, and sorts every copy once', () => {
    fc.assert(
      fc.property(copiesArb, retentionArb, fc.boolean(), (copies, retention, lastRunFailed) => {
        // Act
        const d = decidePrune(copies, retention, { now: NOW, lastRunFailed });

        // Assess
        const live = copies
          .filter((c) => c.outcome !== 'deleted')
          .map((c) => c.runId)
          .sort();
        const all = [...d.keep, ...d.delete, ...d.untouchable, ...d.suspect].map((v) => v.runId).sort();
        expect(all).toEqual(live);
        const byId = new Map(copies.map((c) => [c.runId, c]));
        const deleted = d.delete.map((v) => byId.get(v.runId)!);
        if (lastRunFailed) expect(deleted).toEqual([]);
        for (const c of deleted) {
          expect(c.catalogued && c.tagged && !c.conflict, c.runId).toBe(true);
          expect(instant(c) <= NOW.getTime() + SKEW, `${c.runId} is in the future`).toBe(true);
          expect(['good', 'failed']).toContain(c.outcome);
        }
        const good = copies.filter(trusted);
        for (const group of [newestOf(good), newestOf(good.filter((c) => c.verified))]) {
          if (group.length > 0) expect(group.some((c) => !deleted.includes(c))).toBe(true);
        }
        // A failed copy goes only when a trusted good copy is newer.
        for (const c of deleted.filter((x) => x.outcome === 'failed')) {
          expect(good.some((g) => instant(g) > instant(c))).toBe(true);
        }
        // A copy dated in the future, or whose row conflicts, is reported suspect.
        for (const c of copies) {
          if (c.outcome === 'deleted') continue;
          const suspect = instant(c) > NOW.getTime() + SKEW || c.conflict !== undefined;
          expect(
            d.suspect.some((v) => v.runId === c.runId),
            c.runId,
          ).toBe(suspect);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('decides the same whatever the ISO spelling of the times', () => {
    fc.assert(
      fc.property(
        copiesArb,
        retentionArb,
        fc.constantFrom<'plain' | 'offset'>('plain', 'offset'),
        (copies, retention, how) => {
          // Prepare
          const respelled = copies.map((c) => ({ ...c, startedAt: respell(c.startedAt, how) }));

          // Act
          const a = decidePrune(copies, retention, { now: NOW, lastRunFailed: false });
          const b = decidePrune(respelled, retention, { now: NOW, lastRunFailed: false });

          // Assess
          const ids = (vs: { runId: string }[]) => vs.map((v) => v.runId).sort();
          expect(ids(b.delete)).toEqual(ids(a.delete));
          expect(ids(b.keep)).toEqual(ids(a.keep));
          expect(ids(b.suspect)).toEqual(ids(a.suspect));
        },
      ),
      { numRuns: 800 },
    );
  });
});

describe('decidePrune: the attacks', () => {
  const copy = (runId: string, startedAt: string, extra: Partial<RetentionCopy> = {}): RetentionCopy => ({
    runId,
    startedAt,
    outcome: 'good',
    catalogued: true,
    tagged: true,
    ...extra,
  });

  it('keeps the copy half a second newer, whatever the spelling', () => {
    // Prepare
    const copies = [copy('older', '2026-06-01T02:00:00Z'), copy('newer', '2026-06-01T02:00:00.500Z')];

    // Act
    const d = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(d.keep.map((v) => v.runId)).toEqual(['newer']);
    expect(d.delete.map((v) => v.runId)).toEqual(['older']);
  });

  it('a good copy dated in the future is suspect, counts for no rule, and the newest real one is kept', () => {
    // Prepare
    const copies = [
      copy('future', '2027-06-30T12:00:00.000Z'),
      copy('today', '2026-06-30T02:00:00.000Z'),
      copy('old', '2026-06-01T02:00:00.000Z'),
    ];

    // Act
    const d = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(d.suspect.map((v) => v.runId)).toEqual(['future']);
    expect(d.suspect[0]?.reason).toContain('in the future');
    expect(d.keep.map((v) => v.runId)).toEqual(['today']);
    expect(d.delete.map((v) => v.runId)).toEqual(['old']);
  });

  it('keeps the newest restore-verified copy as well as the newest good one', () => {
    // Prepare
    const copies = [
      copy('newest', '2026-06-30T02:00:00.000Z', { verified: false }),
      copy('failed-test', '2026-06-29T02:00:00.000Z', { verified: false }),
      copy('verified', '2026-06-28T02:00:00.000Z', { verified: true }),
      copy('older-verified', '2026-06-27T02:00:00.000Z', { verified: true }),
    ];

    // Act
    const d = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(d.keep.map((v) => v.runId)).toEqual(['newest', 'verified']);
    expect(d.keep[1]?.reason).toContain('the newest restore-verified copy');
    expect(d.delete.map((v) => v.runId).sort()).toEqual(['failed-test', 'older-verified']);
  });

  it('an adopted copy is never the newest good copy', () => {
    // Prepare
    const copies = [
      copy('adopted', '2026-06-30T10:00:00.000Z', { adopted: true }),
      copy('ours', '2026-06-30T02:00:00.000Z'),
      copy('old', '2026-06-20T02:00:00.000Z'),
    ];

    // Act
    const d = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: false });

    // Assess: the count slot goes to the adopted copy; "ours" is kept as the newest good copy
    expect(d.keep.find((v) => v.runId === 'ours')?.reason).toBe('the newest good copy');
    expect(d.delete.map((v) => v.runId)).toEqual(['old']);
  });

  it('a row in conflict is suspect and never deleted', () => {
    // Prepare
    const copies = [
      copy('new', '2026-06-30T02:00:00.000Z'),
      copy('liar', '2026-01-01T02:00:00.000Z', { conflict: 'its resources also appear in the row of new' }),
    ];

    // Act
    const d = decidePrune(copies, { count: 1 }, { now: NOW, lastRunFailed: false });

    // Assess
    expect(d.delete).toEqual([]);
    expect(d.suspect.map((v) => v.runId)).toEqual(['liar']);
  });
});
