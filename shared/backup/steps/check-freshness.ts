import type { Freshness, FreshnessInput } from '../contracts.ts';
import type { BackupDeps } from '../deps.ts';
import { newestGoodEntry } from '../retention.ts';

/**
 * Finds the backups whose newest good copy is older than their RPO (or that have none).
 *
 * @example
 * (await checkFreshnessStep({ target: 'zmanim', runId }, deps)).stale // [{ backup: 'database', ageHours: 30.5, rpoHours: 24 }]
 */
export async function checkFreshnessStep(input: FreshnessInput, deps: BackupDeps): Promise<Freshness> {
  const target = deps.findTarget(input.target);
  const drivers = deps.drivers(target);
  const jobs = (target.backup ?? []).filter((j) => j.rpoHours !== undefined);
  const stale: Freshness['stale'] = [];
  for (const job of jobs) {
    const rpoHours = job.rpoHours as number;
    // Newest by instant; a copy dated in the future or adopted unverified is not the newest good one.
    const newest = newestGoodEntry(await drivers.catalogue.list(target.name, job.name), new Date(deps.now()));
    if (!newest) {
      stale.push({ backup: job.name, rpoHours });
      continue;
    }
    const at = newest.finishedAt ?? newest.startedAt;
    const ageHours = Math.round(((deps.now() - Date.parse(newest.startedAt)) / 3600_000) * 10) / 10;
    if (ageHours > rpoHours) stale.push({ backup: job.name, newest: at, ageHours, rpoHours });
  }
  return { stale, checked: jobs.length };
}
