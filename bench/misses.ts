/**
 * Which figures miss their goals, each with the reason the measurements show and the fix they
 * point to. Pure: reads only the results.
 */
import type { BenchResults } from './report.ts';

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;

/**
 * Lists the goals a run missed, one sentence each.
 *
 * @example
 * findMisses(results) // ['bundle deploy-batch is 830 KB (goal 300 KB): zod 444 KB, …']
 */
export function findMisses(r: BenchResults): string[] {
  const misses: string[] = [];
  if (r.bundles.status === 'ok') {
    const { goalBytes, goalColdImportMs } = r.bundles;
    const big = r.bundles.results.filter((b) => b.bytes > goalBytes);
    if (big.length > 0) {
      // Which packages weigh most across the oversized bundles.
      const totals = new Map<string, number>();
      for (const b of big) {
        for (const t of b.topInputs) totals.set(t.name, (totals.get(t.name) ?? 0) + t.bytes / big.length);
      }
      const heaviest = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
      misses.push(
        `${big.length} of ${r.bundles.results.length} bundles exceed ${kb(goalBytes)} (largest: ${big
          .sort((a, b) => b.bytes - a.bytes)
          .slice(0, 3)
          .map((b) => `${b.name} ${kb(b.bytes)}`)
          .join(', ')}). On average per oversized bundle the heaviest inputs are ${heaviest
          .map(([name, bytes]) => `${name} ${kb(bytes)}`)
          .join(', ')}.`,
      );
    }
    const slow = r.bundles.results.filter(
      (b) => b.coldImportMs !== null && b.coldImportMs > goalColdImportMs,
    );
    if (slow.length > 0) {
      misses.push(
        `${slow.length} of ${r.bundles.results.length} bundles import cold in more than ${goalColdImportMs} ms (slowest: ${slow
          .sort((a, b) => (b.coldImportMs ?? 0) - (a.coldImportMs ?? 0))
          .slice(0, 3)
          .map((b) => `${b.name} ${b.coldImportMs?.toFixed(0)} ms`)
          .join(', ')}); import time follows bundle size, so the size fixes apply.`,
      );
    }
    const failed = r.bundles.results.filter((b) => b.error);
    for (const b of failed) misses.push(`bundle ${b.name} could not be measured: ${b.error}`);
  }
  if (r.overhead.status === 'ok') {
    for (const { interval, rows } of r.overhead.byInterval) {
      for (const row of rows) {
        if (row.medianOverheadMs >= r.overhead.goalMs) {
          misses.push(
            `overhead with poll interval ${interval} and S = ${row.sleepSeconds} s is ${row.medianOverheadMs.toFixed(0)} ms (goal < ${r.overhead.goalMs} ms).`,
          );
        }
      }
    }
  }
  return misses;
}
