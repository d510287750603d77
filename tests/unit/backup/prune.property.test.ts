/**
 * Property tests of the prune step (the real `pruneBackupsStep`, with the real retention) over
 * random catalogues, tags, dates and crashes. The world is in memory: copies with their tags, a
 * catalogue, and a crash that may strike before any write or delete. The fakes delete whatever
 * they are asked to (no tag guard of their own), so that the step's own checks are what is tested.
 *
 * The expected values come from the invariants, computed here from the generated world, never from
 * the code under test:
 * - the newest good copy and the newest restore-verified copy (rows recorded good by their own
 *   run, whose resources all exist carrying that run's tags, named by no other row, not dated in
 *   the future) still exist, and are still recorded good;
 * - every deleted resource carried the run tag of a catalogue row that named it, and that row's
 *   resources were named by no other row and it was not dated in the future;
 * - every entry recorded good after a prune names copies that still exist (those that existed);
 * - after a crash, the next prune leaves no entry `deleting`;
 * - nothing is deleted when the backup just taken failed.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

import type { BackupDeps } from '../../../shared/backup/deps.ts';
import { pruneBackupsStep } from '../../../shared/backup/steps/prune-backups.ts';
import { type Target, targetSchema } from '../../../shared/config/schema.ts';
import type {
  BackupCatalogue,
  CatalogueEntry,
  CopyOutcome,
  CopyService,
  ObjectStore,
  StoredObject,
  TaggedCopy,
} from '../../../shared/drivers/ports.ts';
import { grantedLeases } from '../../helpers/leases.ts';

const NOW = Date.parse('2026-06-30T12:00:00.000Z');
const DAY = 86_400_000;
/** Five minutes of clock skew are tolerated; the generator's future dates are well beyond it. */
const SKEW = 5 * 60_000;
const TARGET = 'prop';
const BUCKET = 'prop-backups';

type Kind = 'ebs-snapshot' | 'dump';

interface Resource {
  id: string;
  tags: Record<string, string>;
  createdAt: string;
}

/** One generated world: the resources that exist and the catalogue rows. */
interface Scenario {
  kind: Kind;
  resources: Resource[];
  rows: CatalogueEntry[];
  retention: { count?: number; days?: number };
  lastOutcome: 'good' | 'failed';
  crashAt: number | undefined;
}

class Crash extends Error {
  constructor() {
    super('the prune died here');
    this.name = 'Crash';
  }
}

/** The in-memory world the fakes share, with the crash counter. */
class World {
  resources = new Map<string, Resource>();
  catalogue = new Map<string, CatalogueEntry>();
  deletions: Resource[] = [];
  ops = 0;
  crashAt: number | undefined;

  constructor(s: Scenario) {
    for (const r of s.resources) this.resources.set(r.id, structuredClone(r));
    for (const e of s.rows) this.catalogue.set(e.runId, structuredClone(e));
    this.crashAt = s.crashAt;
  }

  /** Every write and delete passes here: the crash strikes before the n-th one. */
  op(): void {
    this.ops += 1;
    if (this.crashAt !== undefined && this.ops === this.crashAt) throw new Crash();
  }

  delete(id: string): void {
    const found = this.resources.get(id);
    if (!found) return;
    this.deletions.push(structuredClone(found));
    this.resources.delete(id);
  }
}

function catalogueOf(world: World): BackupCatalogue {
  return {
    async put(entry) {
      world.op();
      world.catalogue.set(entry.runId, JSON.parse(JSON.stringify(entry)) as CatalogueEntry);
    },
    async create(entry) {
      world.op();
      if (world.catalogue.has(entry.runId)) return false;
      world.catalogue.set(entry.runId, JSON.parse(JSON.stringify(entry)) as CatalogueEntry);
      return true;
    },
    async replaceIf(entry, outcome) {
      world.op();
      if (world.catalogue.get(entry.runId)?.outcome !== outcome) return false;
      world.catalogue.set(entry.runId, JSON.parse(JSON.stringify(entry)) as CatalogueEntry);
      return true;
    },
    async get(_t, _b, runId) {
      return structuredClone(world.catalogue.get(runId));
    },
    async list() {
      // The real catalogues order by the text of startedAt, newest first.
      return [...world.catalogue.values()]
        .map((e) => structuredClone(e))
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
    },
  };
}

function copiesOf(world: World): CopyService {
  return {
    async start() {
      throw new Error('not used');
    },
    async status() {
      throw new Error('not used');
    },
    async listTagged(scope) {
      const byRun = new Map<string, TaggedCopy>();
      for (const r of world.resources.values()) {
        if (r.tags['stepops:target'] !== scope.target || r.tags['stepops:backup'] !== scope.backup) continue;
        const runId = r.tags['stepops:run'] ?? `untagged-run:${r.id}`;
        const copy = byRun.get(runId) ?? { runId, resources: [], state: 'completed', createdAt: r.createdAt };
        copy.resources.push({ id: r.id });
        // As the copy services date a copy: by its newest resource.
        if (Date.parse(r.createdAt) > Date.parse(copy.createdAt)) copy.createdAt = r.createdAt;
        byRun.set(runId, copy);
      }
      return [...byRun.values()];
    },
    async remove(ref) {
      for (const r of ref.resources) {
        world.op();
        world.delete(r.id);
      }
    },
  };
}

function objectsOf(world: World): ObjectStore {
  const stored = (r: Resource): StoredObject => ({
    key: r.id,
    sizeBytes: 10,
    tags: { ...r.tags },
    lastModified: r.createdAt,
  });
  return {
    async uploadUrl() {
      throw new Error('not used');
    },
    async downloadUrl() {
      throw new Error('not used');
    },
    async head(_bucket, key) {
      const r = world.resources.get(key);
      return r ? stored(r) : undefined;
    },
    async list(_bucket, prefix) {
      return [...world.resources.values()].filter((r) => r.id.startsWith(prefix)).map(stored);
    },
    async remove(_bucket, key) {
      world.op();
      world.delete(key);
    },
    uri: (bucket, key) => `s3://${bucket}/${key}`,
  };
}

function targetFor(kind: Kind, retention: Scenario['retention']): Target {
  const job =
    kind === 'dump'
      ? {
          name: 'data',
          type: 'dump',
          script: 'true',
          timeout: 30,
          bucket: BUCKET,
          prefix: 'dumps',
          schedule: 'rate(1 day)',
          retention,
        }
      : { name: 'data', type: 'ebs-snapshot', schedule: 'rate(1 day)', retention };
  return targetSchema.parse({
    name: TARGET,
    description: 'property test target',
    hosts: { type: 'local', directory: '/nonexistent' },
    backup: [job],
  });
}

function depsFor(world: World, target: Target): BackupDeps {
  const drivers = {
    catalogue: catalogueOf(world),
    copies: copiesOf(world),
    objects: objectsOf(world),
    leases: grantedLeases,
  };
  return {
    findTarget: () => target,
    drivers: () =>
      new Proxy(drivers, {
        get(t, key: string) {
          if (key in t) return t[key as keyof typeof t];
          throw new Error(`the prune step asked for ${key}`);
        },
      }) as unknown as ReturnType<BackupDeps['drivers']>,
    fallbackNotifier: () => {
      throw new Error('not used');
    },
    now: () => NOW,
    sleep: async () => undefined,
  };
}

// ── generators ──────────────────────────────────────────────────────────────────────────────────

/** An instant: mostly in the past 40 days, sometimes in the future; with or without milliseconds. */
const instant = fc
  .oneof(
    { weight: 9, arbitrary: fc.integer({ min: -40 * DAY, max: 0 }) },
    { weight: 1, arbitrary: fc.integer({ min: SKEW + 60_000, max: 30 * DAY }) },
  )
  .map((offset) => NOW + offset);
const isoText = (at: number, plain: boolean) => {
  const iso = new Date(at).toISOString();
  return plain && iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso;
};

const copySpec = fc.record({
  at: instant,
  plainText: fc.boolean(),
  wholeSecond: fc.boolean(),
  parts: fc.integer({ min: 1, max: 2 }),
  /** The run tag its resources carry: its own, none (a foreign copy), or another run's. */
  runTag: fc.constantFrom('own', 'own', 'own', 'own', 'own', 'none', 'other'),
  otherRun: fc.nat(7),
  /** The copy still exists in the world. */
  exists: fc.constantFrom(true, true, true, true, false),
  /** The catalogue row, if any. */
  row: fc.option(
    fc.record({
      outcome: fc.constantFrom<CopyOutcome>('good', 'good', 'good', 'failed', 'deleting', 'deleted'),
      deletingFrom: fc.constantFrom<'good' | 'failed'>('good', 'failed'),
      /** Which resources the row names: its own, another copy's (the attack), or nothing that exists. */
      names: fc.constantFrom('own', 'own', 'own', 'own', 'own', 'other', 'missing'),
      namesOther: fc.nat(7),
      restore: fc.constantFrom<'none' | 'ok' | 'failed'>('none', 'none', 'ok', 'failed'),
      adopted: fc.constantFrom(false, false, false, true),
    }),
    { nil: undefined, freq: 5 },
  ),
});

const scenario = fc
  .record({
    kind: fc.constantFrom<Kind>('ebs-snapshot', 'dump'),
    copies: fc.array(copySpec, { minLength: 1, maxLength: 8 }),
    retention: fc.oneof(
      fc.record({ count: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ days: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ count: fc.integer({ min: 1, max: 3 }), days: fc.integer({ min: 0, max: 10 }) }),
    ),
    lastOutcome: fc.constantFrom<'good' | 'failed'>('good', 'good', 'good', 'failed'),
    crashAt: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
  })
  .map(({ kind, copies, retention, lastOutcome, crashAt }): Scenario => {
    const runOf = (i: number) => `run-${i}`;
    const idsOf = (i: number, parts: number) =>
      Array.from({ length: kind === 'dump' ? 1 : parts }, (_, k) =>
        kind === 'dump' ? `dumps/${TARGET}/data/copy-${i}` : `snap-${i}-${k}`,
      );
    const resources: Resource[] = [];
    const rows: CatalogueEntry[] = [];
    copies.forEach((c, i) => {
      const at = c.wholeSecond ? Math.floor(c.at / 1000) * 1000 : c.at;
      const createdAt = isoText(at, c.plainText);
      const ids = idsOf(i, c.parts);
      if (c.exists) {
        for (const id of ids) {
          const tags: Record<string, string> = { 'stepops:target': TARGET, 'stepops:backup': 'data' };
          if (c.runTag === 'own') tags['stepops:run'] = runOf(i);
          if (c.runTag === 'other') tags['stepops:run'] = runOf(c.otherRun);
          resources.push({ id, tags, createdAt });
        }
      }
      if (c.row) {
        const named =
          c.row.names === 'own'
            ? ids
            : c.row.names === 'other'
              ? idsOf(c.row.namesOther % copies.length, 2)
              : [`missing-${i}`];
        rows.push({
          target: TARGET,
          backup: 'data',
          runId: runOf(i),
          kind,
          location: named.join(','),
          resources: named.map((id) => ({ id })),
          startedAt: isoText(at, !c.plainText),
          outcome: c.row.outcome,
          ...(c.row.outcome === 'deleting' ? { deletingFrom: c.row.deletingFrom } : {}),
          ...(c.row.adopted ? { adopted: true } : {}),
          ...(c.row.restore !== 'none'
            ? { restoreTest: { at: createdAt, ok: c.row.restore === 'ok', detail: 'x', runId: 'rt' } }
            : {}),
        });
      }
    });
    return { kind, resources, rows, retention, lastOutcome, crashAt };
  });

// ── the invariants, computed from the generated world ───────────────────────────────────────────

/**
 * Rows a prune must trust: good (or being deleted from good by a prune that died: such a copy, still
 * whole, is good again), not adopted, its own run's resources all there, named by no other row, not
 * dated in the future.
 */
function soundRows(s: Scenario): CatalogueEntry[] {
  const live = s.rows.filter((e) => e.outcome !== 'deleted');
  const namedBy = (id: string) => live.filter((e) => e.resources.some((r) => r.id === id)).length;
  const byId = new Map(s.resources.map((r) => [r.id, r]));
  return s.rows.filter(
    (e) =>
      (e.outcome === 'good' || (e.outcome === 'deleting' && e.deletingFrom === 'good')) &&
      !e.adopted &&
      e.resources.length > 0 &&
      Date.parse(e.startedAt) <= NOW + SKEW &&
      e.resources.every((r) => byId.get(r.id)?.tags['stepops:run'] === e.runId && namedBy(r.id) === 1),
  );
}

/** The rows at the newest instant among `rows` (all of them, when several share it). */
function newest(rows: CatalogueEntry[]): CatalogueEntry[] {
  const max = Math.max(...rows.map((e) => Date.parse(e.startedAt)));
  return rows.filter((e) => Date.parse(e.startedAt) === max);
}

async function prune(
  world: World,
  s: Scenario,
  runId: string,
  crash: boolean,
  dryRun = false,
): Promise<string> {
  world.crashAt = crash ? s.crashAt : undefined;
  world.ops = 0;
  try {
    await pruneBackupsStep(
      { target: TARGET, runId, backup: 'data', lastOutcome: dryRun ? 'not-taken' : s.lastOutcome, dryRun },
      depsFor(world, targetFor(s.kind, s.retention)),
    );
    return 'ok';
  } catch (error) {
    return (error as Error).name;
  }
}

function assertInvariants(world: World, s: Scenario, protectedGroups: CatalogueEntry[][]): void {
  const initial = new Map(s.resources.map((r) => [r.id, r]));
  // The newest good and newest verified copies (one of each group, when several share the newest
  // instant) still exist; a prune that died may leave one `deleting`, never deleted.
  for (const group of protectedGroups) {
    const intact = group.filter(
      (row) =>
        row.resources.every((r) => world.resources.has(r.id)) &&
        world.catalogue.get(row.runId)?.outcome !== 'deleted',
    );
    expect(intact.length, `none of ${group.map((r) => r.runId).join(', ')} is intact`).toBeGreaterThan(0);
  }
  // Every deletion: a resource carrying the run tag of a row that named it, that row trustworthy.
  const live = s.rows.filter((e) => e.outcome !== 'deleted');
  for (const gone of world.deletions) {
    const run = gone.tags['stepops:run'];
    expect(run, `${gone.id} carried no run tag`).toBeDefined();
    const owner = s.rows.find((e) => e.runId === run);
    const namedBy = live.filter((e) => e.resources.some((r) => r.id === gone.id));
    if (owner) {
      // A catalogued copy: its own row names it, no other row does, and it is not dated in the future.
      expect(
        owner.resources.some((r) => r.id === gone.id),
        `${gone.id} is not named by row ${run}`,
      ).toBe(true);
      expect(namedBy.map((e) => e.runId)).toEqual([run]);
      expect(Date.parse(owner.startedAt) <= NOW + SKEW, `${run} is dated in the future`).toBe(true);
    } else {
      // An orphan of a run that crashed before recording it (adopted by its run tag): no row names it.
      expect(namedBy).toEqual([]);
      expect(Date.parse(gone.createdAt) <= NOW + SKEW, `${gone.id} is dated in the future`).toBe(true);
    }
    expect(s.lastOutcome).toBe('good');
  }
  // Every good entry names copies that exist (of those that existed with its run tag).
  for (const entry of world.catalogue.values()) {
    if (entry.outcome !== 'good') continue;
    for (const r of entry.resources) {
      if (initial.get(r.id)?.tags['stepops:run'] !== entry.runId) continue;
      expect(world.resources.has(r.id), `good entry ${entry.runId} names ${r.id}, which is gone`).toBe(true);
    }
  }
}

describe('pruneBackupsStep: properties over random catalogues, tags, dates and crashes', () => {
  it('never loses the newest good or verified copy, deletes only its own rows, and recovers from a crash', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        // Prepare
        const sound = soundRows(s);
        const verified = sound.filter((e) => e.restoreTest?.ok === true);
        const protectedGroups = [
          ...(sound.length > 0 ? [newest(sound)] : []),
          ...(verified.length > 0 ? [newest(verified)] : []),
        ];
        const world = new World(s);

        // Act: a prune that may die at any write or delete, then the next run's prune
        const first = await prune(world, s, 'run-now', true);
        const afterCrash = {
          resources: new Set(world.resources.keys()),
          deletions: [...world.deletions],
        };
        assertInvariants(world, s, protectedGroups);
        const second = await prune(world, s, 'run-next', false);

        // Assess
        expect(['ok', 'Crash', 'SuspectCopyError']).toContain(first);
        expect(['ok', 'SuspectCopyError']).toContain(second);
        assertInvariants(world, s, protectedGroups);
        for (const group of protectedGroups) {
          expect(group.some((row) => world.catalogue.get(row.runId)?.outcome === 'good')).toBe(true);
        }
        // The next prune finished or undid every deletion the first left halfway (but deletes
        // nothing, even the rest of a half-deleted copy, when the backup just taken failed).
        // A row dated in the future, naming another run's copy, or a resource another row names too,
        // is left for a person.
        const rows = [...world.catalogue.values()];
        const untrusted = (e: CatalogueEntry) =>
          Date.parse(e.startedAt) > NOW + SKEW ||
          e.resources.some((r) => {
            const run = world.resources.get(r.id)?.tags['stepops:run'];
            return (
              (world.resources.has(r.id) && run !== e.runId) ||
              rows.some((o) => o !== e && o.outcome !== 'deleted' && o.resources.some((x) => x.id === r.id))
            );
          });
        for (const e of rows.filter((x) => x.outcome === 'deleting')) {
          if (untrusted(e)) {
            expect(second, `${e.runId} left deleting without an alert`).toBe('SuspectCopyError');
            continue;
          }
          const left = e.resources.filter((r) => world.resources.get(r.id)?.tags['stepops:run'] === e.runId);
          expect(left.length > 0 && left.length < e.resources.length, `${e.runId} left deleting`).toBe(true);
          expect(s.lastOutcome, `${e.runId} left deleting`).toBe('failed');
        }
        expect(afterCrash.deletions.every((d) => !world.resources.has(d.id))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('a dry run writes and deletes nothing, whatever the world', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        // Prepare
        const world = new World(s);
        const before = JSON.stringify([...world.catalogue.values()]);

        // Act
        const outcome = await prune(world, s, 'run-dry', false, true);

        // Assess
        expect(['ok', 'SuspectCopyError']).toContain(outcome);
        expect(world.ops).toBe(0);
        expect(world.deletions).toEqual([]);
        expect(JSON.stringify([...world.catalogue.values()])).toBe(before);
      }),
      { numRuns: 200 },
    );
  });

  it("a row naming other runs' copies deletes none of them, whatever the retention says", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 6 }),
        fc.constantFrom<Kind>('ebs-snapshot', 'dump'),
        async (n, kind) => {
          // Prepare: n good copies a day apart; an old extra row names all of their resources
          const ids = (i: number) => (kind === 'dump' ? [`dumps/${TARGET}/data/c-${i}`] : [`snap-${i}`]);
          const resources: Resource[] = [];
          const rows: CatalogueEntry[] = [];
          for (let i = 0; i < n; i += 1) {
            const createdAt = new Date(NOW - i * DAY).toISOString();
            for (const id of ids(i)) {
              resources.push({
                id,
                createdAt,
                tags: { 'stepops:target': TARGET, 'stepops:backup': 'data', 'stepops:run': `run-${i}` },
              });
            }
            rows.push({
              target: TARGET,
              backup: 'data',
              runId: `run-${i}`,
              kind,
              location: '',
              resources: ids(i).map((id) => ({ id })),
              startedAt: createdAt,
              outcome: 'good',
            });
          }
          rows.push({
            target: TARGET,
            backup: 'data',
            runId: 'run-liar',
            kind,
            location: '',
            resources: Array.from({ length: n }, (_, i) => ids(i).map((id) => ({ id }))).flat(),
            startedAt: new Date(NOW - 90 * DAY).toISOString(),
            outcome: 'good',
          });
          const s: Scenario = {
            kind,
            resources,
            rows,
            retention: { count: n },
            lastOutcome: 'good',
            crashAt: undefined,
          };
          const world = new World(s);

          // Act
          const outcome = await prune(world, s, 'run-now', false);

          // Assess: every copy is still there, the liar row was refused and said so
          expect(world.deletions).toEqual([]);
          expect(world.resources.size).toBe(resources.length);
          expect(outcome).toBe('SuspectCopyError');
          for (let i = 0; i < n; i += 1) expect(world.catalogue.get(`run-${i}`)?.outcome).toBe('good');
        },
      ),
      { numRuns: 40 },
    );
  });
});
