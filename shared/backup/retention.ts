/**
 * Retention: which copies of a backup job to delete. Pure, and conservative by construction:
 *
 * - the newest good copy is never deleted, whatever the rules say;
 * - a copy is deleted only when the catalogue recorded it AND its stepops tags name the job
 *   (`catalogued && tagged`): anything else was not made by stepops, or not provably;
 * - nothing is deleted when the backup just taken failed (the copies left may be the only ones);
 * - copies still running are never touched.
 */
import type { BackupRetention } from '../config/schema.ts';
import type { CopyOutcome } from '../drivers/ports.ts';

const DAY_MS = 86_400_000;

/** One copy as retention sees it. */
export interface RetentionCopy {
  runId: string;
  /** ISO time the copy was started. */
  startedAt: string;
  outcome: CopyOutcome;
  /** The catalogue has an entry for it. */
  catalogued: boolean;
  /** Its tags name the target and the job (stepops made it). */
  tagged: boolean;
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
}

/** Options of {@link decidePrune}. */
export interface PruneOptions {
  now: Date;
  /** The backup this run took failed (or was not taken): nothing is deleted. */
  lastRunFailed: boolean;
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
  const decision: PruneDecision = { keep: [], delete: [], untouchable: [] };
  const sorted = [...copies]
    .filter((c) => c.outcome !== 'deleted')
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
  const verdict = (c: RetentionCopy, reason: string): RetentionVerdict => ({
    runId: c.runId,
    startedAt: c.startedAt,
    reason,
  });
  if (options.lastRunFailed) {
    for (const c of sorted) decision.keep.push(verdict(c, 'the backup just taken failed: nothing is pruned'));
    return decision;
  }

  const good = sorted.filter((c) => c.outcome === 'good');
  const keepReasons = new Map<string, string[]>();
  const why = (c: RetentionCopy, reason: string) => {
    const list = keepReasons.get(c.runId) ?? [];
    list.push(reason);
    keepReasons.set(c.runId, list);
  };
  if (good[0]) why(good[0], 'the newest good copy');
  if (retention.count !== undefined) {
    good.slice(0, retention.count).forEach((c, i) => {
      why(c, `one of the newest ${retention.count} (#${i + 1})`);
    });
  }
  if (retention.days !== undefined) {
    const limit = options.now.getTime() - retention.days * DAY_MS;
    for (const c of good) if (Date.parse(c.startedAt) >= limit) why(c, `younger than ${retention.days} days`);
  }
  for (const unit of ['daily', 'weekly', 'monthly'] as const) {
    const wanted = retention[unit];
    if (wanted === undefined || wanted === 0) continue;
    const seen = new Set<string>();
    for (const c of good) {
      const key = bucket(new Date(c.startedAt), unit);
      if (seen.has(key)) continue;
      if (seen.size >= wanted) break;
      seen.add(key);
      why(c, `the newest of ${key} (${unit} ${seen.size}/${wanted})`);
    }
  }

  const newestGood = good[0]?.startedAt;
  for (const c of sorted) {
    const reasons = keepReasons.get(c.runId);
    let deleteReason: string | undefined;
    if (c.outcome === 'running') {
      decision.keep.push(verdict(c, 'still running'));
      continue;
    }
    if (c.outcome === 'failed') {
      if (newestGood === undefined || c.startedAt >= newestGood) {
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
        c.tagged ? undefined : 'not tagged by stepops',
      ]
        .filter(Boolean)
        .join(' and ');
      decision.untouchable.push(verdict(c, `${deleteReason}, but ${missing}: left alone`));
    }
  }
  return decision;
}
