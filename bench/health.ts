/**
 * The cost of scheduled health checks, from real runs of the health workflow on the local engine:
 * real handlers, ten HTTP probes of a server on 127.0.0.1 (a `rate(1 minute)` target), the file
 * state store. A run is priced as AWS bills it: one Express request plus its duration (rounded up
 * to 100 ms, 64 MB billed), the Lambda requests and GB-seconds of its invocations, and the
 * DynamoDB requests of its state; a month of runs at list price, and with the free tiers every
 * account has each month. The scheduled EventBridge rule that starts a run is not billed: its event
 * comes from EventBridge itself, and events from AWS services are free (see {@link HEALTH_PRICES}).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIST_PRICES, type RunCost, runsPerMonth } from '../shared/cost/pricing.ts';
import { type UsageReport, usageOf } from '../shared/cost/usage.ts';
import type { CostScenario, ScheduleCost } from './report.ts';

/**
 * List prices of what a health run uses beyond Lambda (us-east-1, no free tier). Nothing for the
 * scheduled rule that starts it: EventBridge bills the events published to its buses, and "events
 * that originate from AWS services are free" (AWS Knowledge Center, "Why was I charged for
 * EventBridge usage", repost.aws/knowledge-center/eventbridge-reduce-charges; the pricing page,
 * aws.amazon.com/eventbridge/pricing, names custom, partner and cross-account events, API
 * destinations and Scheduler invocations, not the events a scheduled rule emits as `aws.events`).
 * An EventBridge Scheduler schedule would add {@link SCHEDULER_PER_INVOCATION} a run.
 */
export const HEALTH_PRICES = Object.freeze({
  /** Step Functions Express, per request. */
  expressPerRequest: 1.0 / 1_000_000,
  /** Step Functions Express, per GB-second of duration (the first 1,000 GB-hours: $0.06 per GB-hour). */
  expressPerGbSecond: 0.06 / 3600,
  /** Memory an Express execution of this size is billed for. */
  expressBilledMemoryMb: 64,
  /** DynamoDB on-demand, per write request unit (1 KB of item written). */
  dynamoPerWriteUnit: 0.625 / 1_000_000,
  /** DynamoDB on-demand, per read request unit (a strongly consistent read of up to 4 KB). */
  dynamoPerReadUnit: 0.125 / 1_000_000,
});

/** EventBridge Scheduler, per invocation after its free tier: what a run would cost more if a Scheduler schedule started it. */
export const SCHEDULER_PER_INVOCATION = 1.0 / 1_000_000;

/** The sizes of a target's DynamoDB items: its state item (read and written each run) and a day's history item. */
export interface HealthItemBytes {
  state: number;
  day: number;
}

/** The DynamoDB request units of one health run: the state item read and written, and its share of the day's history item. */
export interface HealthStorageUnits {
  readUnits: number;
  writeUnits: number;
}

/**
 * The request units of a run whose state item is `stateBytes` long, with a history item of
 * `dayBytes` written once a day, for a schedule of `runsPerDay`: the state item read strongly
 * consistent (1 unit per 4 KB) and written (1 unit per 1 KB) each run; the day's item written once.
 *
 * @example
 * healthStorageUnits(2_500, 700, 1_440) // { readUnits: 1, writeUnits: 3.0007 }
 */
export function healthStorageUnits(
  stateBytes: number,
  dayBytes: number,
  runsPerDay: number,
): HealthStorageUnits {
  return {
    readUnits: Math.ceil(stateBytes / 4096),
    writeUnits: Math.ceil(stateBytes / 1024) + Math.ceil(dayBytes / 1024) / runsPerDay,
  };
}

/**
 * What every account gets free each month, not only in its first year: Lambda requests and
 * GB-seconds. Step Functions Express and on-demand DynamoDB have no free tier.
 */
export const MONTHLY_FREE_TIERS = Object.freeze({
  lambdaRequests: 1_000_000,
  lambdaGbSeconds: 400_000,
});

/** The dollars of one Express execution: its request and its duration, rounded up to 100 ms. */
function expressRun(wallMs: number): number {
  const billedSeconds = Math.ceil(Math.max(1, wallMs) / 100) / 10;
  return (
    HEALTH_PRICES.expressPerRequest +
    billedSeconds * (HEALTH_PRICES.expressBilledMemoryMb / 1024) * HEALTH_PRICES.expressPerGbSecond
  );
}

/**
 * The dollars of one scheduled health run at list price: Express request and duration under
 * `stepFunctions`, then Lambda and DynamoDB.
 *
 * @example
 * priceHealthRun(usage, 350).total // ≈ 0.0000027
 */
export function priceHealthRun(usage: UsageReport, wallMs: number, storage?: HealthStorageUnits): RunCost {
  const express = expressRun(wallMs);
  const lambdaRequests = usage.invocations * LIST_PRICES.lambdaPerRequest;
  const lambdaCompute = usage.gbSeconds * LIST_PRICES.lambdaPerGbSecond;
  const dynamo = storage ? dynamoRun(storage) : 0;
  return {
    stepFunctions: express,
    lambdaRequests,
    lambdaCompute,
    ...(storage ? { dynamo } : {}),
    total: express + lambdaRequests + lambdaCompute + dynamo,
  };
}

function dynamoRun(storage: HealthStorageUnits): number {
  return (
    storage.readUnits * HEALTH_PRICES.dynamoPerReadUnit +
    storage.writeUnits * HEALTH_PRICES.dynamoPerWriteUnit
  );
}

/** The goal of a month of health checks of ten endpoints every minute, in dollars (issue 10). */
export const HEALTH_MONTHLY_GOAL = 0.1;

/** A month of a health schedule's runs, in dollars. */
export interface MonthlyHealthCost {
  listPrice: number;
  /** With {@link MONTHLY_FREE_TIERS}, as if nothing else in the account used them. */
  freeTiers: number;
}

/**
 * The dollars of `runs` health runs in a month, each like the one measured: at list price, and
 * with the monthly free tiers (only what exceeds them is billed; Express is billed in full).
 *
 * @example
 * monthlyHealthCost(usage, 60, 43_800) // { listPrice: 0.10…, freeTiers: 0.04… }
 */
export function monthlyHealthCost(
  usage: UsageReport,
  wallMs: number,
  runs: number,
  storage?: HealthStorageUnits,
): MonthlyHealthCost {
  const beyond = (used: number, free: number) => Math.max(0, used - free);
  return {
    listPrice: runs * priceHealthRun(usage, wallMs, storage).total,
    // On-demand DynamoDB has no monthly free request units: billed in full, as Express is.
    freeTiers:
      runs * expressRun(wallMs) +
      (storage ? runs * dynamoRun(storage) : 0) +
      beyond(runs * usage.invocations, MONTHLY_FREE_TIERS.lambdaRequests) * LIST_PRICES.lambdaPerRequest +
      beyond(runs * usage.gbSeconds, MONTHLY_FREE_TIERS.lambdaGbSeconds) * LIST_PRICES.lambdaPerGbSecond,
  };
}

/**
 * What a month of `runs` rounds costs more for each 100 ms the round lasts longer (an endpoint that
 * answers slower than 127.0.0.1): the Express duration at its billed memory and the GB-seconds of a
 * Lambda of `memoryMb` that waits as long.
 *
 * @example
 * slowerRoundMonthlyCost(256, 43_800) // ≈ 0.023
 */
export function slowerRoundMonthlyCost(memoryMb: number, runs: number): number {
  const express = 0.1 * (HEALTH_PRICES.expressBilledMemoryMb / 1024) * HEALTH_PRICES.expressPerGbSecond;
  const lambda = 0.1 * (memoryMb / 1024) * LIST_PRICES.lambdaPerGbSecond;
  return runs * (express + lambda);
}

/** What the health runs measured. */
export interface HealthMeasurement {
  scenario: CostScenario;
  /** The row of ten endpoints every minute, next to the anchors. */
  tenEndpoints: ScheduleCost;
  /** Per-run cost for the targets' schedules, with the run it was measured on. */
  perRun: {
    cost: RunCost;
    source: string;
    usage: UsageReport;
    wallMs: number;
    /** The DynamoDB items a run reads and writes, to price a schedule's runs at its own rate. */
    itemBytes: HealthItemBytes;
  };
  /** What publishing the status page adds, from a run that published it. */
  statusPage?: StatusPageCost;
}

/** The price of publishing the status page (a stage with `STEPOPS_STATUS_PAGE` website or cloudfront). */
export interface StatusPageCost {
  /** publish-status-page's time in the run that published. */
  durationMs: number;
  perPublish: number;
  /** One target with public probes, checked every minute: a publish each 5 minutes. */
  monthly: number;
}

/** S3 PUT, per request (S3 Standard). */
const S3_PUT = 0.005 / 1_000;

/**
 * What one publish costs: the publish-status-page invocation (a Lambda request and its
 * GB-seconds), the Express run's longer duration (the publish's time, rounded up to 100 ms, at
 * 64 MB), one S3 PUT, and one GetItem of the state item per target on the page (one here).
 *
 * @example
 * statusPageCost(usageOfAPublishingRun)?.monthly // ≈ 0.05
 */
export function statusPageCost(usage: UsageReport | undefined, targets = 1): StatusPageCost | undefined {
  const publish = usage?.byFunction['publish-status-page'];
  if (!publish) return undefined;
  const express =
    (Math.ceil(publish.durationMs / 100) / 10) *
    (HEALTH_PRICES.expressBilledMemoryMb / 1024) *
    HEALTH_PRICES.expressPerGbSecond;
  const perPublish =
    publish.invocations * LIST_PRICES.lambdaPerRequest +
    publish.gbSeconds * LIST_PRICES.lambdaPerGbSecond +
    express +
    S3_PUT +
    targets * HEALTH_PRICES.dynamoPerReadUnit;
  return {
    durationMs: publish.durationMs,
    perPublish,
    monthly: perPublish * runsPerMonth('rate(5 minutes)'),
  };
}

/**
 * Runs the health workflow `runs` times against ten endpoints and prices the median run.
 *
 * @example
 * const measured = await measureHealthCost({ runs: 5, memoryMb: { 'check-target': 256 }, log: console.error });
 */
export async function measureHealthCost(options: {
  runs: number;
  memoryMb: Readonly<Record<string, number>>;
  log: (line: string) => void;
}): Promise<HealthMeasurement> {
  // Loaded here: the pricing above is read by bench/misses.ts, which loads no target.
  const { createLocalHealthEngine } = await import('../functions/index.ts');
  const { clearRegisteredTargets, registerTarget } = await import('../shared/config/registry.ts');
  const server: Server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    registerTarget({
      name: 'bench-health',
      description: 'ten endpoints checked every minute',
      hosts: { type: 'local', directory: '.' },
      health: {
        schedule: 'rate(1 minute)',
        probes: Array.from({ length: 10 }, (_, i) => ({
          name: `endpoint-${i + 1}`,
          type: 'http' as const,
          url: `${base}/health/${i + 1}`,
          jsonField: { path: 'status', equals: 'ok' },
          timeout: 5,
        })),
      },
    });
    const engine = createLocalHealthEngine({ memoryMb: options.memoryMb });
    const measured: { wallMs: number; usage: UsageReport; outcome: string }[] = [];
    // The local engine's workflow publishes the status page (the first run, and every 5 minutes):
    // a run that published is priced apart, as the status page's own cost; the others are the
    // health check as a stage without a status page (the default) runs it.
    const published: UsageReport[] = [];
    for (let i = 0; measured.length < options.runs && i < options.runs * 2; i++) {
      const started = performance.now();
      const result = await engine.start({ target: 'bench-health' }, { executionName: `bench-health-${i}` })
        .result;
      const wallMs = performance.now() - started;
      const usage = usageOf(
        { transitions: result.trace.transitions, invocations: result.trace.invocations },
        options.memoryMb,
      );
      if ((result.output as { statusPage?: { published?: boolean } } | undefined)?.statusPage?.published) {
        published.push(usage);
        continue;
      }
      measured.push({ wallMs, usage, outcome: result.status.toLowerCase() });
    }
    measured.sort((a, b) => a.wallMs - b.wallMs);
    const median = measured[Math.floor(measured.length / 2)]!;
    // The item DynamoDB would hold: the state the file store wrote, stored as the DynamoDB store
    // stores it (compressed, with the key and attributes of the state table's item), and a day of
    // history for these probes.
    const { FileHealthStore } = await import('../shared/drivers/local/file-health-store.ts');
    const { dynamoItemBytes, healthItem } = await import('../shared/drivers/aws/dynamo-health-store.ts');
    const body = (await new FileHealthStore().read('bench-health'))?.body ?? '';
    const stateBytes = dynamoItemBytes(healthItem('bench-health', body, 1_000_000, new Date()));
    const today = (JSON.parse(body || '{}') as { today?: unknown }).today;
    const dayBytes = Buffer.byteLength(JSON.stringify(today ?? {})) + 80;
    const storage = healthStorageUnits(stateBytes, dayBytes, 1_440);
    options.log(
      `  health state item ${stateBytes} B, day item ${dayBytes} B: ${storage.readUnits} RRU + ${storage.writeUnits.toFixed(4)} WRU a run`,
    );
    const cost = priceHealthRun(median.usage, median.wallMs, storage);
    const runs = runsPerMonth('rate(1 minute)');
    const monthly = monthlyHealthCost(median.usage, median.wallMs, runs, storage);
    const synthetics = runs * 10 * LIST_PRICES.syntheticsPerCanaryRun;
    options.log(
      `  health, 10 endpoints: ${median.outcome}, ${median.usage.invocations} invocations, ${median.usage.gbSeconds.toFixed(4)} GB-s, ${median.wallMs.toFixed(0)} ms, $${cost.total.toPrecision(3)} a run, $${monthly.listPrice.toFixed(3)} a month at list price, $${monthly.freeTiers.toFixed(3)} with the free tiers`,
    );
    const statusPage = statusPageCost(published[0]);
    if (statusPage) {
      options.log(
        `  status page: ${statusPage.durationMs.toFixed(0)} ms of publish-status-page, $${statusPage.perPublish.toPrecision(3)} a publish, $${statusPage.monthly.toFixed(3)} a month per target at one publish each 5 minutes`,
      );
    }
    const source = `measured: median of ${measured.length} local runs of the health workflow (10 HTTP probes), Express $1/M + duration, Lambda, DynamoDB on-demand, the scheduled rule unbilled (state item ${stateBytes} B read and written each run, the day's history item once a day)`;
    return {
      scenario: {
        name: 'health check, 10 HTTP endpoints (Express)',
        outcome: median.outcome,
        wallMs: median.wallMs,
        usage: median.usage,
        cost,
      },
      tenEndpoints: {
        target: '(any)',
        kind: 'health',
        name: '10 endpoints',
        schedule: 'rate(1 minute)',
        runsPerMonth: runs,
        monthly: monthly.listPrice,
        freeTierMonthly: monthly.freeTiers,
        note: `${source}; each 100 ms an endpoint takes longer to answer than 127.0.0.1 adds $${slowerRoundMonthlyCost(options.memoryMb['check-target'] ?? 256, runs).toFixed(3)} a month; anchor: 10 Synthetics canaries every minute $${synthetics.toFixed(2)}/month, 10 Route 53 checks $${(10 * LIST_PRICES.route53HealthCheckPerMonth.low).toFixed(2)}–$${(10 * LIST_PRICES.route53HealthCheckPerMonth.high).toFixed(2)}/month`,
      },
      perRun: {
        cost,
        source,
        usage: median.usage,
        wallMs: median.wallMs,
        itemBytes: { state: stateBytes, day: dayBytes },
      },
      ...(statusPage ? { statusPage } : {}),
    };
  } finally {
    clearRegisteredTargets();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
