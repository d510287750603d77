/**
 * When EventBridge Scheduler expressions fire: the longest gap between two consecutive runs of a
 * `rate(...)` or six-field `cron(...)` expression (used to refuse a backup whose RPO is shorter than
 * its schedule), and the next run after a given time (shown by `stepops status`). Pure.
 */

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** Values one cron field allows, or `undefined` for "every value" (`*`, `?`). */
function fieldValues(field: string, min: number, max: number): number[] | undefined {
  if (field === '*' || field === '?') return undefined;
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let from = min;
    let to = max;
    if (range !== '*') {
      const [a, b] = range.split('-');
      from = Number(a);
      to = b === undefined ? (stepText === undefined ? from : max) : Number(b);
    }
    if (![from, to, step].every(Number.isInteger) || step <= 0) return undefined;
    for (let v = from; v <= to; v += step) if (v >= min && v <= max) values.add(v);
  }
  return values.size > 0 ? [...values].sort((x, y) => x - y) : undefined;
}

/** The largest circular gap between sorted offsets within a period. */
function largestGap(offsets: number[], period: number): number {
  if (offsets.length === 0) return period;
  let gap = 0;
  offsets.forEach((value, i) => {
    const next = i + 1 < offsets.length ? (offsets[i + 1] as number) : (offsets[0] as number) + period;
    gap = Math.max(gap, next - value);
  });
  return gap;
}

/**
 * The longest interval, in seconds, between two runs of a schedule: exact for `rate(...)` and for
 * cron expressions that fire daily or on some days of the week; one month (31 days) when the
 * day of month or the month is restricted.
 *
 * @example
 * scheduleIntervalSeconds('rate(6 hours)') // 21600
 * scheduleIntervalSeconds('cron(0 2 * * ? *)') // 86400
 * scheduleIntervalSeconds('cron(0 2,14 * * ? *)') // 43200
 * scheduleIntervalSeconds('cron(0 3 ? * SUN *)') // 604800
 */
export function scheduleIntervalSeconds(expression: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const unit = rate[2]?.startsWith('minute') ? MINUTE : rate[2]?.startsWith('hour') ? HOUR : DAY;
    return Number(rate[1]) * unit;
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (!cron) return DAY;
  const [, minutes = '*', hours = '*', dom = '*', month = '*', dowText = '*'] = cron;
  if ((dom !== '*' && dom !== '?') || (month !== '*' && month !== '?')) return 31 * DAY;
  const minuteList = fieldValues(minutes, 0, 59) ?? Array.from({ length: 60 }, (_, i) => i);
  const hourList = fieldValues(hours, 0, 23) ?? Array.from({ length: 24 }, (_, i) => i);
  const dayOffsets = hourList.flatMap((h) => minuteList.map((m) => h * HOUR + m * MINUTE));
  const dow = dowText
    .toUpperCase()
    .replaceAll(/SUN|MON|TUE|WED|THU|FRI|SAT/g, (d) =>
      String(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'].indexOf(d) + 1),
    );
  const days = /^[0-9,/*?-]+$/.test(dow) ? fieldValues(dow, 1, 7) : undefined;
  if (!days) return largestGap(dayOffsets, DAY);
  const weekOffsets = days.flatMap((d) => dayOffsets.map((o) => (d - 1) * DAY + o));
  return largestGap(weekOffsets, 7 * DAY);
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** A cron field's values with names replaced by numbers; `'all'` for `*` and `?`; `undefined` when not supported. */
function cronField(
  field: string,
  min: number,
  max: number,
  names: string[] = [],
): Set<number> | 'all' | undefined {
  if (field === '*' || field === '?') return 'all';
  const numeric = field
    .toUpperCase()
    .replaceAll(/[A-Z]{3}/g, (name) => (names.includes(name) ? String(names.indexOf(name) + 1) : name));
  // L, W and # (last day, nearest weekday, nth weekday) are not followed here.
  if (!/^[0-9,/*-]+$/.test(numeric)) return undefined;
  const values = fieldValues(numeric, min, max);
  return values ? new Set(values) : undefined;
}

const has = (set: Set<number> | 'all', value: number) => set === 'all' || set.has(value);

/** The wall clock of an instant in a time zone. */
function wallClock(formatter: Intl.DateTimeFormat, instant: number) {
  const parts = Object.fromEntries(formatter.formatToParts(instant).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(String(parts.weekday).toUpperCase()) + 1,
  };
}

/** The next run of a schedule, and whether it is exact (cron) or estimated from the last run (rate). */
export interface NextRun {
  at: number;
  estimated: boolean;
}

/**
 * The next time a schedule fires strictly after `after` (epoch ms). A cron expression is read in its
 * time zone, as EventBridge Scheduler reads it; a rate fires every interval from when its schedule
 * was created, which only the last run tells, so a rate's next run is estimated from `lastRun` and
 * unknown without it. `undefined` too for cron fields stepops does not follow (`L`, `W`, `#`) and for
 * a cron that never fires again (a year in the past).
 *
 * @example
 * nextScheduledRun('cron(0 2 * * ? *)', { after: Date.parse('2026-12-02T06:30:00Z') })
 * // { at: Date.parse('2026-12-03T02:00:00Z'), estimated: false }
 * nextScheduledRun('rate(1 hour)', { after: Date.parse('2026-12-02T06:30:00Z'), lastRun: Date.parse('2026-12-02T06:10:00Z') })
 * // { at: Date.parse('2026-12-02T07:10:00Z'), estimated: true }
 */
export function nextScheduledRun(
  expression: string,
  options: { after: number; timezone?: string; lastRun?: number },
): NextRun | undefined {
  const { after } = options;
  if (expression.startsWith('rate(')) {
    if (options.lastRun === undefined || Number.isNaN(options.lastRun)) return undefined;
    const interval = scheduleIntervalSeconds(expression) * 1000;
    const elapsed = Math.max(0, after - options.lastRun);
    return { at: options.lastRun + (Math.floor(elapsed / interval) + 1) * interval, estimated: true };
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (!cron) return undefined;
  const [, m = '', h = '', dom = '', mon = '', dow = '', yr = ''] = cron;
  const minutes = cronField(m, 0, 59);
  const hours = cronField(h, 0, 23);
  const days = cronField(dom, 1, 31);
  const months = cronField(mon, 1, 12, MONTHS);
  const weekdays = cronField(dow, 1, 7, WEEKDAYS);
  const years = cronField(yr, 1970, 2199);
  if (!minutes || !hours || !days || !months || !weekdays || !years) return undefined;
  const formatter = new Intl.DateTimeFormat('en-US', {
    timeZone: options.timezone ?? 'UTC',
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  const lastYear = years === 'all' ? Number.POSITIVE_INFINITY : Math.max(...years);
  let t = (Math.floor(after / 60_000) + 1) * 60_000;
  // Each step moves to the next local day, hour or minute that can match: a few hundred at most a year.
  for (let step = 0; step < 20_000; step++) {
    const c = wallClock(formatter, t);
    if (c.year > lastYear) return undefined;
    const dayMatches =
      has(years, c.year) &&
      has(months, c.month) &&
      (dom === '?'
        ? has(weekdays, c.weekday)
        : has(days, c.day) && (dow === '?' || has(weekdays, c.weekday)));
    if (!dayMatches) t += ((23 - c.hour) * 60 + (60 - c.minute)) * 60_000;
    else if (!has(hours, c.hour)) t += (60 - c.minute) * 60_000;
    else if (has(minutes, c.minute)) return { at: t, estimated: false };
    else {
      const next = [...(minutes as Set<number>)].find((v) => v > c.minute) ?? 60;
      t += (next - c.minute) * 60_000;
    }
  }
  return undefined;
}

/** One schedule a target declares: which workflow it starts, for what, when, in which time zone. */
export interface TargetSchedule {
  workflow: 'backup' | 'health' | 'maintenance';
  /** What it runs, for people: `data`, `data restore test`, `freshness`, `probes`, a maintenance job's name. */
  job: string;
  /** The backup job it runs, for backup and restore-test schedules. */
  backup?: string;
  /** The maintenance job it runs, for maintenance schedules. */
  maintenance?: string;
  task?: 'restore-test' | 'freshness';
  expression: string;
  timezone: string;
}

/**
 * What {@link targetSchedules} reads of a target: its backup jobs with their schedules, the
 * freshness schedule, the health schedule and the maintenance jobs. Written out (a `Target` fits it) so that the schema,
 * which imports this module, is not imported back.
 */
export interface ScheduledTarget {
  backup?: readonly {
    name: string;
    schedule: string;
    timezone: string;
    rpoHours?: number | undefined;
    restoreTest?: { schedule: string; timezone: string } | undefined;
  }[];
  backupOptions?: { freshnessSchedule?: string | undefined } | undefined;
  health?: { schedule: string } | undefined;
  maintenance?: Readonly<Record<string, { schedule: string; timezone: string }>> | undefined;
}

/**
 * Every schedule of a target, as the stacks create them: each backup job, each restore test, one
 * freshness check when a job declares an RPO, the health checks, and each maintenance job (in its
 * time zone).
 *
 * @example
 * targetSchedules(findTarget('datizmo')).map((s) => s.job) // ['database', 'database restore test', 'freshness', 'probes', 'certificates', 'security-updates']
 */
export function targetSchedules(target: ScheduledTarget): TargetSchedule[] {
  const jobs = target.backup ?? [];
  const schedules: TargetSchedule[] = jobs.map((job) => ({
    workflow: 'backup',
    job: job.name,
    backup: job.name,
    expression: job.schedule,
    timezone: job.timezone,
  }));
  for (const job of jobs) {
    if (!('restoreTest' in job) || !job.restoreTest) continue;
    schedules.push({
      workflow: 'backup',
      job: `${job.name} restore test`,
      backup: job.name,
      task: 'restore-test',
      expression: job.restoreTest.schedule,
      timezone: job.restoreTest.timezone,
    });
  }
  if (jobs.some((job) => job.rpoHours !== undefined)) {
    schedules.push({
      workflow: 'backup',
      job: 'freshness',
      task: 'freshness',
      expression: target.backupOptions?.freshnessSchedule ?? 'rate(1 hour)',
      timezone: 'UTC',
    });
  }
  if (target.health) {
    schedules.push({
      workflow: 'health',
      job: 'probes',
      expression: target.health.schedule,
      timezone: 'UTC',
    });
  }
  for (const [name, job] of Object.entries(target.maintenance ?? {})) {
    schedules.push({
      workflow: 'maintenance',
      job: name,
      maintenance: name,
      expression: job.schedule,
      timezone: job.timezone,
    });
  }
  return schedules;
}
