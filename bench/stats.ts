/**
 * Small statistics for benchmark samples. Pure.
 */
import type { OverheadRow } from './report.ts';

/**
 * The median of a non-empty sample (mean of the two middle values for an even count).
 *
 * @example
 * median([3, 1, 2])    // 2
 * median([4, 1, 3, 2]) // 2.5
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Minimum, median and maximum of a sample. */
export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
}

/**
 * Summarises a non-empty sample.
 *
 * @example
 * summarize([5, 1, 3]) // { n: 3, min: 1, median: 3, max: 5 }
 */
export function summarize(values: readonly number[]): Summary {
  return { n: values.length, min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

/**
 * Rounds to a number of significant digits, for tables and JSON that stay readable.
 *
 * @example
 * round(0.000123456, 3) // 0.000123
 */
export function round(value: number, digits = 3): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}

/**
 * The median of the overhead minus its detection latency, over every run that has both: what the
 * orchestration costs apart from waiting for the next status read.
 *
 * @example
 * restOfOverhead(rows) // 30
 */
export function restOfOverhead(rows: readonly OverheadRow[]): number | undefined {
  const rest = rows.flatMap((r) =>
    r.overheadMs.flatMap((o, i) => (r.detectionMs[i] === undefined ? [] : [o - r.detectionMs[i]!])),
  );
  return rest.length === 0 ? undefined : median(rest);
}
