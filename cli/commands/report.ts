/**
 * `stepops report <target> [--days N] [--repo DIR] [--stage S | --local] [--json]`: the delivery
 * metrics of a target from its run history: deploy frequency, lead time for changes, change
 * failure rate, time to restore, and each workflow's success rate and duration percentiles.
 */
import { statSync } from 'node:fs';
import { findTarget } from '../../shared/config/registry.ts';
import { stageResourceNames } from '../../shared/drivers/options.ts';
import { formatDuration } from '../../shared/health/state.ts';
import { type DeliveryReport, deliveryReport, type Percentiles } from '../../shared/report/dora.ts';
import { EXIT, type Output, stdio, UsageError } from '../output.ts';
import {
  commitDirectory,
  commitTimes,
  outboxHealthAlerts,
  probeTransitions,
  readHealthState,
  targetRuns,
} from '../runs/history-reader.ts';
import { runSourceFor, type SourceDeps, type WhereOptions } from '../runs/source.ts';
import { table } from '../runs/style.ts';

/** Options of {@link report}. */
export interface ReportOptions extends WhereOptions {
  days?: string | number;
  repo?: string;
  json?: boolean;
}

/** What `report` needs besides the options. */
export interface ReportDeps extends SourceDeps {
  output?: Output;
  now?: () => number;
}

/**
 * The `--days` value: a whole number from 1 to 365 (30 by default).
 *
 * @throws UsageError naming the value otherwise
 */
export function daysOf(value: string | number | undefined): number {
  if (value === undefined) return 30;
  const days = Number(value);
  if (!Number.isInteger(days) || days < 1 || days > 365) {
    throw new UsageError(`--days ${String(value)}: expected a whole number from 1 to 365`);
  }
  return days;
}

function spread(p: Percentiles): string {
  if (p.count === 0) return 'no data';
  return `median ${formatDuration(p.p50!)}, p90 ${formatDuration(p.p90!)}, max ${formatDuration(p.max!)} (${p.count})`;
}

function percent(rate: number | undefined): string {
  return rate === undefined ? 'no data' : `${Math.round(rate * 1000) / 10} %`;
}

/**
 * The report as text.
 *
 * @example
 * formatReport(deliveryReport({ … }))
 */
export function formatReport(r: DeliveryReport): string {
  const f = r.deployFrequency;
  const c = r.changeFailure;
  const lines = [
    `delivery of ${r.target}, the last ${r.days} day${r.days === 1 ? '' : 's'} (${r.from.slice(0, 10)} to ${r.to.slice(0, 10)})`,
    '',
    table([
      ['METRIC', 'VALUE'],
      [
        'deploy frequency',
        `${f.deploys} successful deploy${f.deploys === 1 ? '' : 's'} (${f.perWeek.toFixed(1)} a week)`,
      ],
      [
        'lead time for changes',
        `${spread(r.leadTime)}${r.leadTime.unknown ? `; ${r.leadTime.unknown} deploy${r.leadTime.unknown === 1 ? '' : 's'} with no known commit time` : ''}`,
      ],
      [
        'change failure rate',
        c.deploys === 0
          ? 'no deploy ended'
          : `${percent(c.rate)} (${c.failed} of ${c.deploys}, ${c.rolledBack} rolled back)`,
      ],
      ['time to restore (probes)', spread(r.timeToRestore.incidents)],
      ['time to restore (recovery runs)', spread(r.timeToRestore.recoveries)],
    ]),
  ];
  if (r.timeToRestore.open.length) {
    lines.push(
      '',
      ...r.timeToRestore.open.map(
        (i) =>
          `down now: ${i.probe}${i.host ? ` on ${i.host}` : ''} since ${i.from} (${formatDuration(i.durationMs)})`,
      ),
    );
  }
  if (r.jobs.length) {
    const rows = [['WORKFLOW', 'RUNS', 'SUCCEEDED', 'FAILED', 'SUCCESS RATE', 'DURATION']];
    for (const j of r.jobs) {
      rows.push([
        j.workflow,
        String(j.runs),
        String(j.succeeded),
        String(j.failed),
        percent(j.successRate),
        spread(j.durationMs),
      ]);
    }
    lines.push('', table(rows));
  } else {
    lines.push('', 'no runs in this window');
  }
  return lines.join('\n');
}

/**
 * Computes and prints the delivery report of a target.
 *
 * @example
 * process.exitCode = await report('demo', { days: 7 });
 * @returns the exit code
 */
export async function report(target: string, options: ReportOptions, deps: ReportDeps = {}): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  const days = daysOf(options.days);
  const found = findTarget(target);
  if (options.repo !== undefined && !statSync(options.repo, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(
      `--repo ${options.repo}: not a directory (a checkout of the app, where git knows its commits)`,
    );
  }
  const source = await runSourceFor(options, deps);
  const local = source.where === 'local';
  const now = (deps.now ?? Date.now)();
  const runs = await targetRuns(source, found.name, days, now);
  const stateTable = local
    ? undefined
    : env.STEPOPS_STATE_TABLE || stageResourceNames(source.where).stateTable;
  const state = await readHealthState(
    found,
    local,
    stateTable ? { ...env, STEPOPS_STATE_TABLE: stateTable } : env,
  );
  const alerts = local ? await outboxHealthAlerts() : [];
  const directory = commitDirectory(found, options.repo);
  const refs = runs
    .filter((r) => r.workflow === 'deploy' && r.status === 'SUCCEEDED' && r.ref)
    .map((r) => r.ref!);
  const result = deliveryReport({
    target: found.name,
    days,
    now,
    runs,
    commitTimes: directory ? await commitTimes(directory, refs) : {},
    transitions: probeTransitions(found.name, alerts, state),
  });
  if (options.json) {
    out.out(JSON.stringify(result, null, 2));
    return EXIT.ok;
  }
  out.out(formatReport(result));
  if (!directory && result.leadTime.unknown) {
    out.out('(lead time: give --repo <checkout of the app> so that git can say when each ref was committed)');
  }
  return EXIT.ok;
}
