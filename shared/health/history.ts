/**
 * Uptime history, compactly: each round's result per probe is counted into the day's record (checks,
 * passes, and the latency in a few log-spaced buckets); a finished day is stored once (90 days: a
 * DynamoDB item with a TTL on a stage, a file locally) and the current day lives in the probe state.
 * From a day's record come its uptime and latency percentiles (as bucket bounds).
 */
import type { ProbeResult } from '../drivers/ports.ts';

/** Days of history kept. */
export const HISTORY_DAYS = 90;
/** Upper bounds (ms) of the latency buckets; the last catches everything slower. */
export const LATENCY_BUCKETS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, Infinity] as const;

/** One probe's (one host's, for per-host probes) day: checks, passes, latency bucket counts. */
export interface ProbeDay {
  n: number;
  ok: number;
  /** Counts per {@link LATENCY_BUCKETS_MS} bucket, of the checks that measured a latency. */
  lat?: number[];
}

/** A day of a target's rounds, keyed by probe (`name` or `name@host`). */
export interface HealthDay {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  probes: Record<string, ProbeDay>;
}

function bucketOf(ms: number): number {
  return LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
}

/**
 * Counts a round into the current day; when the round is on a later day, the previous day is
 * returned as finished (to be stored) and a new day begins.
 *
 * @example
 * const { today, finished } = countRound(state.today, results, new Date());
 */
export function countRound(
  current: HealthDay | undefined,
  results: readonly ProbeResult[],
  now: Date,
): { today: HealthDay; finished?: HealthDay } {
  const day = now.toISOString().slice(0, 10);
  const finished = current && current.day !== day ? current : undefined;
  const base = current && current.day === day ? current : { day, probes: {} };
  const probes: Record<string, ProbeDay> = { ...base.probes };
  for (const result of results) {
    const key = result.host ? `${result.probe}@${result.host}` : result.probe;
    const before = probes[key] ?? { n: 0, ok: 0 };
    const next: ProbeDay = { n: before.n + 1, ok: before.ok + (result.ok ? 1 : 0) };
    const lat = before.lat ? [...before.lat] : undefined;
    if (result.latencyMs !== undefined && Number.isFinite(result.latencyMs)) {
      const counts = lat ?? LATENCY_BUCKETS_MS.map(() => 0);
      counts[bucketOf(result.latencyMs)]! += 1;
      next.lat = counts;
    } else if (lat) {
      next.lat = lat;
    }
    probes[key] = next;
  }
  return { today: { day, probes }, ...(finished ? { finished } : {}) };
}

/**
 * The latency under which a share of the checks fell, as the upper bound of its bucket (ms);
 * undefined without latencies; `Infinity` in the last bucket.
 *
 * @example
 * latencyPercentile([0, 8, 2, 0, 0, 0, 0, 0, 0, 0, 0], 0.95) // 50
 */
export function latencyPercentile(lat: readonly number[] | undefined, share: number): number | undefined {
  const total = (lat ?? []).reduce((a, b) => a + b, 0);
  if (!lat || total === 0) return undefined;
  let seen = 0;
  for (let i = 0; i < lat.length; i += 1) {
    seen += lat[i]!;
    if (seen >= share * total) return LATENCY_BUCKETS_MS[i];
  }
  return Infinity;
}

/** One row of the history table. */
export interface HistoryRow {
  day: string;
  probe: string;
  checks: number;
  /** Percentage of passing checks. */
  uptime: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

/**
 * The rows of the history: per day (newest first) and probe, uptime and latency percentiles.
 *
 * @example
 * historyRows(days, 'site') // [{ day: '2026-03-02', probe: 'site', checks: 1440, uptime: 99.93, p50: 50, … }]
 */
export function historyRows(days: readonly HealthDay[], probe?: string): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const day of [...days].sort((a, b) => b.day.localeCompare(a.day))) {
    for (const [key, counts] of Object.entries(day.probes).sort(([a], [b]) => a.localeCompare(b))) {
      if (probe && key !== probe && !key.startsWith(`${probe}@`)) continue;
      const p50 = latencyPercentile(counts.lat, 0.5);
      const p95 = latencyPercentile(counts.lat, 0.95);
      const p99 = latencyPercentile(counts.lat, 0.99);
      rows.push({
        day: day.day,
        probe: key,
        checks: counts.n,
        uptime: counts.n === 0 ? 0 : (100 * counts.ok) / counts.n,
        ...(p50 !== undefined ? { p50 } : {}),
        ...(p95 !== undefined ? { p95 } : {}),
        ...(p99 !== undefined ? { p99 } : {}),
      });
    }
  }
  return rows;
}

/**
 * The `YYYY-MM-DD` days from `days - 1` days before `now` to `now`, oldest first.
 *
 * @example
 * lastDays(new Date('2026-03-02T10:00:00Z'), 2) // ['2026-03-01', '2026-03-02']
 */
export function lastDays(now: Date, days: number): string[] {
  return Array.from({ length: days }, (_, i) =>
    new Date(now.getTime() - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}
