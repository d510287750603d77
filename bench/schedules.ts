/**
 * The monthly cost of the targets' configured schedules: runs per month × the measured cost of one
 * run of the workflow the schedule starts. A schedule whose workflow does not exist yet gets no
 * figure, only its run count and the anchor it would be compared with.
 */
import type { Target } from '../shared/config/schema.ts';
import { HOURS_PER_MONTH, LIST_PRICES, type RunCost, runsPerMonth } from '../shared/cost/pricing.ts';
import type { UsageReport } from '../shared/cost/usage.ts';
import type { BackupCostSection } from './backup.ts';
import { type HealthItemBytes, healthStorageUnits, monthlyHealthCost } from './health.ts';
import type { ScheduleCost } from './report.ts';

/** The measured cost of one run of each scheduled workflow, when it exists. */
export interface PerRunCosts {
  /** With the measured run's usage and wall time, the free tiers are priced too. */
  health?: {
    cost: RunCost;
    source: string;
    usage?: UsageReport;
    wallMs?: number;
    itemBytes?: HealthItemBytes;
  };
  backup?: { cost: RunCost; source: string };
  /** Measured per job (`bench/backup.ts`): preferred over `backup` where a job is listed. */
  backupJobs?: BackupCostSection;
}

/**
 * Lists every schedule of the targets (health checks and backup jobs) with its runs per month and,
 * where the workflow's cost per run is known, its monthly cost.
 *
 * @example
 * scheduleCosts([findTarget('zmanim')], {})
 * // [{ target: 'zmanim', kind: 'health', schedule: 'rate(1 minute)', runsPerMonth: 43800, monthly: null, … }, …]
 */
export function scheduleCosts(targets: readonly Target[], perRun: PerRunCosts): ScheduleCost[] {
  const rows: ScheduleCost[] = [];
  for (const target of targets) {
    if (target.health) {
      const runs = runsPerMonth(target.health.schedule);
      const probes = target.health.probes.length;
      const synthetics = runs * probes * LIST_PRICES.syntheticsPerCanaryRun;
      const measured = perRun.health;
      // The day's history item is written once a day, so its share of a run depends on the rate.
      const storage =
        measured?.itemBytes &&
        healthStorageUnits(measured.itemBytes.state, measured.itemBytes.day, (runs * 24) / HOURS_PER_MONTH);
      const month =
        measured?.usage && measured.wallMs !== undefined
          ? monthlyHealthCost(measured.usage, measured.wallMs, runs, storage)
          : undefined;
      const anchor = `anchor: ${probes} Synthetics canaries at this rate $${synthetics.toFixed(2)}/month, ${probes} Route 53 checks $${(probes * LIST_PRICES.route53HealthCheckPerMonth.low).toFixed(2)}–$${(probes * LIST_PRICES.route53HealthCheckPerMonth.high).toFixed(2)}/month`;
      rows.push({
        target: target.name,
        kind: 'health',
        name: `${probes} probes`,
        schedule: target.health.schedule,
        runsPerMonth: runs,
        monthly: month ? month.listPrice : measured ? runs * measured.cost.total : null,
        ...(month ? { freeTierMonthly: month.freeTiers } : {}),
        note: measured ? `${measured.source}; ${anchor}` : `health workflow not built yet; ${anchor}`,
      });
    }
    for (const job of target.backup ?? []) {
      const runs = runsPerMonth(job.schedule);
      const measured = perRun.backupJobs?.jobs.find((j) => j.target === target.name && j.job === job.name);
      if (measured) {
        rows.push(...measuredBackupRows(measured));
        continue;
      }
      rows.push({
        target: target.name,
        kind: 'backup',
        name: `${job.name} (${job.type})`,
        schedule: job.schedule,
        runsPerMonth: runs,
        monthly: perRun.backup ? runs * perRun.backup.cost.total : null,
        note: perRun.backup ? perRun.backup.source : 'backup workflow not built yet',
      });
    }
    const freshness = perRun.backupJobs?.freshness.find((f) => f.target === target.name);
    if (freshness) {
      rows.push({
        target: target.name,
        kind: 'backup',
        name: 'freshness check',
        schedule: freshness.schedule,
        runsPerMonth: freshness.runsPerMonth,
        monthly: freshness.monthly,
        note: `measured: $${freshness.perRun.total.toPrecision(3)} per run`,
      });
    }
  }
  return rows;
}

/** The rows of one measured backup job: the backup itself and its restore test. */
function measuredBackupRows(j: BackupCostSection['jobs'][number]): ScheduleCost[] {
  const wait = j.assumedWaitMinutes > 0 ? ` + ${j.assumedWaitMinutes} min assumed AWS wait` : '';
  const rows: ScheduleCost[] = [
    {
      target: j.target,
      kind: 'backup',
      name: `${j.job} (${j.type})`,
      schedule: j.schedule,
      runsPerMonth: j.runsPerMonth,
      monthly: j.monthly,
      note: `measured ${j.measured.transitions} transitions, ${j.measured.invocations} invocations${wait}: $${j.perRun.total.toPrecision(3)} per run`,
    },
  ];
  if (j.restoreTest) {
    const rtWait =
      j.restoreTest.assumedWaitMinutes > 0 ? `${j.restoreTest.assumedWaitMinutes} min assumed` : 'measured';
    rows.push({
      target: j.target,
      kind: 'backup',
      name: `${j.job} restore test`,
      schedule: j.restoreTest.schedule,
      runsPerMonth: j.restoreTest.runsPerMonth,
      monthly: j.restoreTest.monthly,
      note: `${rtWait}: $${j.restoreTest.perRun.total.toPrecision(3)} per run`,
    });
  }
  return rows;
}
