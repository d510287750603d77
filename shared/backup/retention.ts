/**
 * Retention: which copies of a backup job to delete. Pure, and conservative by construction:
 *
 * - times are compared as instants, never as text; a copy dated in the future (beyond a small
 *   clock skew) or not dated at all is suspect: it is kept, counts for no rule, and is reported;
 * - the newest good copy is never deleted, and neither is the newest restore-verified one;
 *   a copy adopted from its tags after a crash is never the newest good copy;
 * - a copy is deleted only when the catalogue recorded it AND its resources carry the job's tags
 *   and the run's own `stepops:run` tag (`catalogued && tagged`); a row whose resources appear in
 *   another row is suspect and never deleted;
 * - nothing is deleted when the backup just taken failed (the copies left may be the only ones);
 * - copies still running, or being deleted, are left to their own step.
 */
import type { BackupRetention } from '../config/schema.ts';
import type { CopyOutcome } from '../drivers/ports.ts';

const DAY_MS = 86_400_000;
/** A copy dated later than now plus this is suspect (clocks of hosts and AWS differ a little). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** One copy as retention sees it. */
export interface RetentionCopy {
  runId: string;
  /** ISO time the copy was started. */
  startedAt: string;
  outcome: CopyOutcome;
  /** The catalogue has an entry for it. */
  catalogued: boolean;
  /** Its resources are found carrying the job's stepops tags and this run's own run tag. */
  tagged: boolean;
  /** Its latest restore test passed. */
  verified?: boolean;
  /** Found by its tags after a run that did not record it: unverified, never the newest good copy. */
  adopted?: boolean;
  /** Why the catalogue row cannot be trusted (its resources appear in another row, …). */
  conflict?: string;
}

/** What retention decided for one copy. */
export interface RetentionVerdict {
  runId: string;
  startedAt: string;
  /** Why it is kept or deleted, in words. */
  reason: string;
}

export interface PruneDecision {
  keep: RetentionVerdict[];
  delete: RetentionVerdict[];
  /** Copies retention would have deleted but may not touch (not both catalogued and tagged). */
  untouchable: RetentionVerdict[];
  /** Copies kept because they cannot be trusted (a future date, a conflicting row): alert on them. */
  suspect: RetentionVerdict[];
}

/** Options of {@link decidePrune}. */
export interface PruneOptions {
  now: Date;
  /** The backup this run took failed (or was not taken): nothing is deleted. */
  lastRunFailed: boolean;
}

/**
 * The instant of an ISO time in epoch milliseconds, or `undefined` when it is not a time.
 *
 * @example
 * instantOf('2026-03-01T02:00:00.500Z') // 1772330400500
 */
export function instantOf(iso: string | undefined): number | undefined {
  if (typeof iso !== 'string' || iso.length === 0) return undefined;
  const at = Date.parse(iso);
  return Number.isFinite(at) ? at : undefined;
}

/**
 * Why a copy's date cannot be trusted (in the future, or not a time), or `undefined` when it can.
 *
 * @example
 * suspectDate('2099-01-01T00:00:00Z', new Date('2026-03-01T00:00:00Z')) // 'dated 2099-01-01T00:00:00Z, in the future'
 */
export function suspectDate(iso: string | undefined, now: Date): string | undefined {
  const at = instantOf(iso);
  if (at === undefined) return `dated "${iso ?? ''}", which is not a time`;
  if (at > now.getTime() + MAX_CLOCK_SKEW_MS) return `dated ${iso}, in the future`;
  return undefined;
}

/** Newest first by instant, then by run id (both total, so that the order never depends on input order). */
function newestFirst(a: { startedAt: string; runId?: string }, b: { startedAt: string; runId?: string }) {
  const ta = instantOf(a.startedAt) ?? Number.NEGATIVE_INFINITY;
  const tb = instantOf(b.startedAt) ?? Number.NEGATIVE_INFINITY;
  if (ta !== tb) return tb - ta;
  const ra = a.runId ?? '';
  const rb = b.runId ?? '';
  return ra < rb ? 1 : ra > rb ? -1 : 0;
}

/**
 * The newest good copy of a job a restore or a freshness check may rely on: recorded good by the
 * run that made it (not adopted), dated in the past. Instants are compared, not text.
 *
 * @example
 * newestGoodEntry(await catalogue.list('docsai', 'database'), new Date())?.runId
 */
export function newestGoodEntry<
  Entry extends { outcome: string; startedAt: string; adopted?: boolean; runId?: string },
>(entries: readonly Entry[], now: Date, accept: (entry: Entry) => boolean = () => true): Entry | undefined {
  return [...entries]
    .filter((e) => e.outcome === 'good' && !e.adopted && !suspectDate(e.startedAt, now) && accept(e))
    .sort(newestFirst)[0];
}

function bucket(date: Date, unit: 'daily' | 'weekly' | 'monthly'): string {
  if (unit === 'daily') return date.toISOString().slice(0, 10);
  if (unit === 'monthly') return date.toISOString().slice(0, 7);
  // ISO week: the Thursday of the week decides its year.
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/**
 * Decides which copies of one job to delete under a retention.
 *
 * @example
 * decidePrune(copies, { count: 7, days: 30 }, { now: new Date(), lastRunFailed: false }).delete
 * // the good copies beyond the newest 7 and older than 30 days, and failed copies older than the newest good one
 */
export function decidePrune(
  copies: readonly RetentionCopy[],
  retention: BackupRetention,
  options: PruneOptions,
): PruneDecision {
  const decision: PruneDecision = { keep: [], delete: [], untouchable: [], suspect: [] };
  const verdict = (c: RetentionCopy, reason: string): RetentionVerdict => ({
    runId: c.runId,
    startedAt: c.startedAt,
    reason,
  });
  const sorted = [...copies].filter((c) => c.outcome !== 'deleted').sort(newestFirst);
  const suspicion = new Map<RetentionCopy, string>();
  for (const c of sorted) {
    const why = [suspectDate(c.startedAt, options.now), c.conflict].filter(Boolean).join('; ');
    if (why) suspicion.set(c, why);
  }
  const trusted = sorted.filter((c) => !suspicion.has(c));
  for (const c of sorted) {
    const why = suspicion.get(c);
    if (why) decision.suspect.push(verdict(c, `${why}: kept, and counted for no rule`));
  }
  if (options.lastRunFailed) {
    for (const c of trusted)
      decision.keep.push(verdict(c, 'the backup just taken failed: nothing is pruned'));
    return decision;
  }

  const good = trusted.filter((c) => c.outcome === 'good');
  const present = good.filter((c) => c.catalogued && c.tagged);
  const newestOwn = present.find((c) => !c.adopted);
  // With only adopted copies left, the newest of them is still the last good copy.
  const newestGood = newestOwn ?? present[0];
  const newestVerified = present.find((c) => !c.adopted && c.verified);
  const keepReasons = new Map<RetentionCopy, string[]>();
  const why = (c: RetentionCopy, reason: string) => {
    const list = keepReasons.get(c) ?? [];
    list.push(reason);
    keepReasons.set(c, list);
  };
  if (newestGood) why(newestGood, 'the newest good copy');
  if (newestVerified) why(newestVerified, 'the newest restore-verified copy');
  if (retention.count !== undefined) {
    good.slice(0, retention.count).forEach((c, i) => {
      why(c, `one of the newest ${retention.count} (#${i + 1})`);
    });
  }
  if (retention.days !== undefined) {
    const limit = options.now.getTime() - retention.days * DAY_MS;
    for (const c of good)
      if ((instantOf(c.startedAt) as number) >= limit) why(c, `younger than ${retention.days} days`);
  }
  for (const unit of ['daily', 'weekly', 'monthly'] as const) {
    const wanted = retention[unit];
    if (wanted === undefined || wanted === 0) continue;
    const seen = new Set<string>();
    for (const c of good) {
      const key = bucket(new Date(instantOf(c.startedAt) as number), unit);
      if (seen.has(key)) continue;
      if (seen.size >= wanted) break;
      seen.add(key);
      why(c, `the newest of ${key} (${unit} ${seen.size}/${wanted})`);
    }
  }

  // A failed copy goes only once a good copy its own run recorded is newer.
  const newestGoodAt = newestOwn ? instantOf(newestOwn.startedAt) : undefined;
  for (const c of trusted) {
    const reasons = keepReasons.get(c);
    let deleteReason: string | undefined;
    if (c.outcome === 'running') {
      decision.keep.push(verdict(c, 'still running'));
      continue;
    }
    if (c.outcome === 'deleting') {
      decision.keep.push(verdict(c, 'being deleted by an earlier prune'));
      continue;
    }
    if (c.outcome === 'failed') {
      if (newestGoodAt === undefined || (instantOf(c.startedAt) as number) >= newestGoodAt) {
        decision.keep.push(verdict(c, 'failed, but no good copy is newer'));
        continue;
      }
      deleteReason = 'failed, and a newer good copy exists';
    } else if (reasons) {
      decision.keep.push(verdict(c, reasons.join('; ')));
      continue;
    } else {
      deleteReason = 'beyond the retention';
    }
    if (c.catalogued && c.tagged) decision.delete.push(verdict(c, deleteReason));
    else {
      const missing = [
        c.catalogued ? undefined : 'not in the catalogue',
        c.tagged ? undefined : 'not found carrying its own stepops tags',
      ]
        .filter(Boolean)
        .join(' and ');
      decision.untouchable.push(verdict(c, `${deleteReason}, but ${missing}: left alone`));
    }
  }
  return decision;
}
