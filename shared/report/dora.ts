/**
 * Delivery metrics from the run history: the four DORA metrics (deploy frequency, lead time for
 * changes, change failure rate, time to restore) and each workflow's success rate and duration
 * percentiles. Pure functions: the runs, the commits' times and the probes' transitions are read by
 * the caller (the CLI's run sources, git, the alerts).
 */

/** A run as the metrics need it (the run sources' summaries fit). */
export interface MetricRun {
  runId: string;
  workflow: string;
  /** Step Functions' status names: SUCCEEDED, FAILED, TIMED_OUT, ABORTED, RUNNING, PENDING_REDRIVE. */
  status: string;
  ref?: string;
  error?: string;
  /** ISO times. */
  startedAt: string;
  stoppedAt?: string;
}

/** A probe going down or coming back up, as the health checks alerted it. */
export interface ProbeTransition {
  probe: string;
  host?: string;
  kind: 'down' | 'up';
  /** ISO time. */
  at: string;
}

/** A probe's time down: from going down to coming back up (open while it is still down). */
export interface Incident {
  probe: string;
  host?: string;
  /** ISO times. */
  from: string;
  to?: string;
  /** Milliseconds down (to the end, or to `now` while open). */
  durationMs: number;
}

/** Percentiles of a set of durations in milliseconds (nearest rank); absent without samples. */
export interface Percentiles {
  count: number;
  p50?: number;
  p90?: number;
  max?: number;
}

/** One workflow's runs in the window. */
export interface JobStats {
  workflow: string;
  runs: number;
  succeeded: number;
  failed: number;
  running: number;
  /** Succeeded over ended runs, 0..1; absent when none ended. */
  successRate?: number;
  durationMs: Percentiles;
}

/** The report of one target over a window. */
export interface DeliveryReport {
  target: string;
  /** ISO times of the window. */
  from: string;
  to: string;
  days: number;
  deployFrequency: {
    /** Successful deploys in the window. */
    deploys: number;
    perDay: number;
    perWeek: number;
  };
  leadTime: Percentiles & {
    /** Successful deploys whose commit time is unknown (left out of the percentiles). */
    unknown: number;
  };
  changeFailure: {
    /** Deploys that ended (succeeded, failed, rolled back, timed out or aborted). */
    deploys: number;
    failed: number;
    /** Of those, the ones that rolled back (DeployFailedError: the gate failed, the old release is back). */
    rolledBack: number;
    /** failed / deploys, 0..1; absent when no deploy ended. */
    rate?: number;
  };
  timeToRestore: {
    /** Probes down and back up (closed incidents) in the window. */
    incidents: Percentiles;
    /** Incidents still open at the end of the window. */
    open: Incident[];
    /** Recovery runs that succeeded: their durations. */
    recoveries: Percentiles;
  };
  jobs: JobStats[];
}

const ENDED_FAILED = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);
const DAY_MS = 86_400_000;

/**
 * Nearest-rank percentiles of durations (p50, p90, max).
 *
 * @example
 * percentiles([10, 20, 30, 40]) // { count: 4, p50: 20, p90: 40, max: 40 }
 */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(50), p90: rank(90), max: sorted[sorted.length - 1]! };
}

function ended(run: MetricRun): number | undefined {
  return run.stoppedAt ? Date.parse(run.stoppedAt) : undefined;
}

/**
 * Pairs each probe's down with the next up of the same probe (and host); a down without an up is
 * an open incident, lasting until `now`. A second down before an up is the same incident.
 *
 * @example
 * incidentsOf([{ probe: 'app', kind: 'down', at: '2026-12-01T10:00:00Z' }, { probe: 'app', kind: 'up', at: '2026-12-01T10:05:00Z' }], now)
 * // [{ probe: 'app', from: '2026-12-01T10:00:00Z', to: '2026-12-01T10:05:00Z', durationMs: 300000 }]
 */
export function incidentsOf(transitions: readonly ProbeTransition[], now: number): Incident[] {
  const sorted = [...transitions].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const open = new Map<string, ProbeTransition>();
  const incidents: Incident[] = [];
  for (const t of sorted) {
    const key = `${t.probe}\n${t.host ?? ''}`;
    const down = open.get(key);
    if (t.kind === 'down') {
      if (!down) open.set(key, t);
      continue;
    }
    if (!down) continue;
    open.delete(key);
    incidents.push({
      probe: t.probe,
      ...(t.host ? { host: t.host } : {}),
      from: down.at,
      to: t.at,
      durationMs: Date.parse(t.at) - Date.parse(down.at),
    });
  }
  for (const down of open.values()) {
    incidents.push({
      probe: down.probe,
      ...(down.host ? { host: down.host } : {}),
      from: down.at,
      durationMs: Math.max(0, now - Date.parse(down.at)),
    });
  }
  return incidents.sort((a, b) => Date.parse(a.from) - Date.parse(b.from));
}

/**
 * Success rate and duration percentiles of each workflow's runs (in the order first seen).
 *
 * @example
 * jobStats(runs) // [{ workflow: 'deploy', runs: 3, succeeded: 2, failed: 1, running: 0, successRate: 0.667, … }]
 */
export function jobStats(runs: readonly MetricRun[]): JobStats[] {
  const byWorkflow = new Map<string, MetricRun[]>();
  for (const run of runs) byWorkflow.set(run.workflow, [...(byWorkflow.get(run.workflow) ?? []), run]);
  return [...byWorkflow].map(([workflow, list]) => {
    const succeeded = list.filter((r) => r.status === 'SUCCEEDED').length;
    const failed = list.filter((r) => ENDED_FAILED.has(r.status)).length;
    const running = list.length - succeeded - failed;
    const durations = list.flatMap((r) => {
      const end = ended(r);
      return end !== undefined && r.status !== 'RUNNING' ? [end - Date.parse(r.startedAt)] : [];
    });
    return {
      workflow,
      runs: list.length,
      succeeded,
      failed,
      running,
      ...(succeeded + failed > 0 ? { successRate: succeeded / (succeeded + failed) } : {}),
      durationMs: percentiles(durations),
    };
  });
}

/**
 * The delivery report of a target over the `days` before `now`: runs are counted by their start,
 * incidents by the time the probe went down.
 *
 * @param commitTimes epoch ms of each ref's commit, where known (git or the push)
 * @example
 * deliveryReport({ target: 'demo', days: 30, now: Date.now(), runs, commitTimes: { v2: 1764… }, transitions: [] })
 */
export function deliveryReport(input: {
  target: string;
  days: number;
  now: number;
  runs: readonly MetricRun[];
  commitTimes: Readonly<Record<string, number>>;
  transitions: readonly ProbeTransition[];
}): DeliveryReport {
  const { now, days } = input;
  const since = now - days * DAY_MS;
  const inWindow = input.runs.filter((r) => {
    const started = Date.parse(r.startedAt);
    return started >= since && started <= now;
  });
  const deploys = inWindow.filter((r) => r.workflow === 'deploy');
  const good = deploys.filter((r) => r.status === 'SUCCEEDED');
  const failedDeploys = deploys.filter((r) => ENDED_FAILED.has(r.status));
  const leadTimes: number[] = [];
  let unknown = 0;
  for (const run of good) {
    const committed = run.ref !== undefined ? input.commitTimes[run.ref] : undefined;
    const end = ended(run);
    if (committed === undefined || end === undefined) unknown++;
    else leadTimes.push(Math.max(0, end - committed));
  }
  const incidents = incidentsOf(input.transitions, now).filter((i) => Date.parse(i.from) >= since);
  const recoveries = inWindow.filter((r) => r.workflow === 'recover' && r.status === 'SUCCEEDED');
  const endedDeploys = good.length + failedDeploys.length;
  return {
    target: input.target,
    from: new Date(since).toISOString(),
    to: new Date(now).toISOString(),
    days,
    deployFrequency: { deploys: good.length, perDay: good.length / days, perWeek: (good.length * 7) / days },
    leadTime: { ...percentiles(leadTimes), unknown },
    changeFailure: {
      deploys: endedDeploys,
      failed: failedDeploys.length,
      rolledBack: failedDeploys.filter((r) => r.error === 'DeployFailedError').length,
      ...(endedDeploys > 0 ? { rate: failedDeploys.length / endedDeploys } : {}),
    },
    timeToRestore: {
      incidents: percentiles(incidents.filter((i) => i.to !== undefined).map((i) => i.durationMs)),
      open: incidents.filter((i) => i.to === undefined),
      recoveries: percentiles(
        recoveries.flatMap((r) => (r.stoppedAt ? [ended(r)! - Date.parse(r.startedAt)] : [])),
      ),
    },
    jobs: jobStats(inWindow),
  };
}

/**
 * Each day's uptime of one probe over the `days` before `now` (oldest first), from its incidents:
 * the share of the day's known time it was not down. A day before `knownSince` (the first check
 * recorded) is `undefined`, not 100 %.
 *
 * @example
 * dailyUptime([], Date.parse('2026-12-03T12:00:00Z'), 2, Date.parse('2026-12-02T00:00:00Z')) // [1, 1]
 */
export function dailyUptime(
  incidents: readonly Incident[],
  now: number,
  days: number,
  knownSince: number | undefined,
): (number | undefined)[] {
  const todayStart = Math.floor(now / DAY_MS) * DAY_MS;
  const result: (number | undefined)[] = [];
  for (let d = days - 1; d >= 0; d--) {
    const dayStart = todayStart - d * DAY_MS;
    const start = Math.max(dayStart, knownSince ?? Number.POSITIVE_INFINITY);
    const end = Math.min(dayStart + DAY_MS, now);
    if (knownSince === undefined || start >= end) {
      result.push(undefined);
      continue;
    }
    let down = 0;
    for (const i of incidents) {
      const from = Math.max(Date.parse(i.from), start);
      const to = Math.min(i.to ? Date.parse(i.to) : now, end);
      if (to > from) down += to - from;
    }
    result.push(Math.max(0, 1 - down / (end - start)));
  }
  return result;
}

/**
 * Overall uptime (0..1) over the days that are known, weighted by their known time; undefined when none is.
 *
 * @example
 * overallUptime([], Date.parse('2026-12-03T12:00:00Z'), 90, Date.parse('2026-12-03T00:00:00Z')) // 1
 */
export function overallUptime(
  incidents: readonly Incident[],
  now: number,
  days: number,
  knownSince: number | undefined,
): number | undefined {
  if (knownSince === undefined) return undefined;
  const start = Math.max(knownSince, now - days * DAY_MS);
  if (start >= now) return undefined;
  let down = 0;
  for (const i of incidents) {
    const from = Math.max(Date.parse(i.from), start);
    const to = Math.min(i.to ? Date.parse(i.to) : now, now);
    if (to > from) down += to - from;
  }
  return Math.max(0, 1 - down / (now - start));
}
