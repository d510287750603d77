/**
 * AWS list prices and the arithmetic that turns a run's usage into dollars.
 *
 * Pure: no clock, no I/O. Used by `bench/` for the cost of a run and by anything that prices a
 * schedule (runs per month × cost of one run).
 */

/** List prices in US dollars (us-east-1, as published by AWS; no free tier applied). */
export interface Prices {
  /** Step Functions Standard workflows, per state transition. */
  stepFunctionsPerTransition: number;
  /** Lambda, per request. */
  lambdaPerRequest: number;
  /** Lambda (x86), per GB-second of billed duration. */
  lambdaPerGbSecond: number;
  /** CloudWatch Synthetics, per canary run. */
  syntheticsPerCanaryRun: number;
  /** Route 53 health check per month: basic on an AWS endpoint … on a non-AWS endpoint. */
  route53HealthCheckPerMonth: { low: number; high: number };
}

/** The prices stepops quotes: Step Functions $0.025 per 1,000 transitions, Lambda $0.20 per 1M requests and $0.0000166667 per GB-s. */
export const LIST_PRICES: Readonly<Prices> = Object.freeze({
  stepFunctionsPerTransition: 0.025 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  lambdaPerGbSecond: 0.0000166667,
  syntheticsPerCanaryRun: 0.0012,
  route53HealthCheckPerMonth: Object.freeze({ low: 0.5, high: 0.75 }),
});

/** Hours in the month AWS bills by. */
export const HOURS_PER_MONTH = 730;

/** What one run consumed. */
export interface RunUsage {
  /** Step Functions state transitions (every state entered, retries included). */
  transitions: number;
  /** Lambda invocations (every Task attempt). */
  invocations: number;
  /** Lambda GB-seconds: Σ memory (GB) × billed duration (s). */
  gbSeconds: number;
}

/** The dollars of one run, by line item. */
export interface RunCost {
  stepFunctions: number;
  lambdaRequests: number;
  lambdaCompute: number;
  /** DynamoDB request units, where a run's cost counts them (the health state and history). */
  dynamo?: number;
  total: number;
}

/**
 * The billed GB-seconds of one Lambda invocation: memory in GB (MB / 1024) times the duration
 * rounded up to the next millisecond, as Lambda bills it.
 *
 * @example
 * gbSeconds(1024, 1000) // 1
 * gbSeconds(256, 0.2)   // 0.25 * 0.001 (1 ms minimum)
 */
export function gbSeconds(memoryMb: number, durationMs: number): number {
  if (!(memoryMb > 0)) throw new RangeError(`memory must be positive, got ${memoryMb}`);
  if (!(durationMs >= 0)) throw new RangeError(`duration must be 0 or more, got ${durationMs}`);
  const billedMs = Math.max(1, Math.ceil(durationMs));
  return (memoryMb / 1024) * (billedMs / 1000);
}

/**
 * Prices one run's usage.
 *
 * @example
 * priceRun({ transitions: 1000, invocations: 1_000_000, gbSeconds: 0 }).total // 0.025 + 0.2
 */
export function priceRun(usage: RunUsage, prices: Readonly<Prices> = LIST_PRICES): RunCost {
  for (const key of ['transitions', 'invocations', 'gbSeconds'] as const) {
    if (!(usage[key] >= 0)) throw new RangeError(`${key} must be 0 or more, got ${usage[key]}`);
  }
  const stepFunctions = usage.transitions * prices.stepFunctionsPerTransition;
  const lambdaRequests = usage.invocations * prices.lambdaPerRequest;
  const lambdaCompute = usage.gbSeconds * prices.lambdaPerGbSecond;
  return {
    stepFunctions,
    lambdaRequests,
    lambdaCompute,
    total: stepFunctions + lambdaRequests + lambdaCompute,
  };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** Values a cron field matches, within [min, max]; names (JAN, MON) map to their numbers. */
function cronValues(field: string, min: number, max: number, names: readonly string[] = []): Set<number> {
  const out = new Set<number>();
  const toNumber = (token: string): number => {
    const index = names.indexOf(token.toUpperCase());
    // Month names are 1-based (JAN = 1), day names 1-based in EventBridge (SUN = 1).
    if (index >= 0) return index + 1;
    const n = Number.parseInt(token, 10);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new RangeError(`cron value "${token}" is outside ${min}-${max}`);
    }
    return n;
  };
  for (const part of field.split(',')) {
    const [rangePart = '', stepPart] = part.split('/');
    const step = stepPart === undefined ? 1 : Number.parseInt(stepPart, 10);
    if (!(step >= 1)) throw new RangeError(`cron step "${stepPart}" must be a positive number`);
    let from: number;
    let to: number;
    if (rangePart === '*' || rangePart === '?') {
      from = min;
      to = max;
    } else if (rangePart.includes('-')) {
      const [a = '', b = ''] = rangePart.split('-');
      from = toNumber(a);
      to = toNumber(b);
    } else {
      from = toNumber(rangePart);
      to = stepPart === undefined ? from : max;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/**
 * How many times an EventBridge schedule fires in an average month (730 hours).
 *
 * `rate(N minutes|hours|days)` is exact. A six-field `cron(min hour dom month dow year)` is
 * averaged: firings per day (minutes × hours) × matching days per month, where a day-of-week
 * list counts as its share of 7 days, a day-of-month list as that many days, and a month list as
 * its share of 12 months. `L`, `W` and `#` count as one day a month.
 *
 * @example
 * runsPerMonth('rate(1 minute)')          // 43800
 * runsPerMonth('cron(0 2 * * ? *)')       // 30.416…
 * runsPerMonth('cron(0/15 8-17 ? * MON-FRI *)') // 4 × 10 × 730/24 × 5/7
 */
export function runsPerMonth(expression: string): number {
  const daysPerMonth = HOURS_PER_MONTH / 24;
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const n = Number(rate[1]);
    if (!(n > 0)) throw new RangeError(`rate must be positive in "${expression}"`);
    const unit = rate[2]!;
    const perHour = unit.startsWith('minute') ? 60 / n : unit.startsWith('hour') ? 1 / n : 1 / (24 * n);
    return perHour * HOURS_PER_MONTH;
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression.trim());
  if (!cron) throw new RangeError(`not a schedule expression: "${expression}"`);
  const [, minute = '', hour = '', dom = '', month = '', dow = ''] = cron;
  const perDay = cronValues(minute, 0, 59).size * cronValues(hour, 0, 23).size;
  const monthShare = cronValues(month, 1, 12, MONTHS).size / 12;
  const special = /[LW#]/i;
  let days: number;
  if (dom !== '*' && dom !== '?') {
    days = special.test(dom) ? 1 : Math.min(cronValues(dom, 1, 31).size, daysPerMonth);
  } else if (dow !== '*' && dow !== '?') {
    days = special.test(dow) ? 1 : (cronValues(dow, 1, 7, DAYS).size / 7) * daysPerMonth;
  } else {
    days = daysPerMonth;
  }
  return perDay * days * monthShare;
}
