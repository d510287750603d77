/**
 * How often a schedule expression fires: the longest gap between two consecutive runs of an
 * EventBridge `rate(...)` or six-field `cron(...)` expression. Pure; used to refuse a backup whose
 * RPO is shorter than its schedule.
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
