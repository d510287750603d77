/**
 * The cost of the targets' declared backups, priced from real local runs of the backup workflow:
 * for each of the five targets a local twin with the same jobs (names, schedules, retention,
 * restore tests), each dump a real `tar` of a data directory with bash into the local object
 * store, each snapshot (EBS, RDS, AWS Backup) a real directory copy. One execution per job, as the
 * schedules start them; restore tests and the freshness check are runs of their own.
 *
 * What a local run cannot show is the time AWS takes to finish a snapshot: on AWS the poll Lambda
 * waits inside its long-poll while the snapshot is `pending`. That wait is priced separately, at
 * an assumed duration per kind (below), as GB-seconds of poll-backup plus one more poll
 * invocation and two more transitions (WaitForJob + JobDone) per 50 s.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findTarget, registerTarget } from '../shared/config/registry.ts';
import type { BackupJob, Target, TargetInput } from '../shared/config/schema.ts';
import { priceRun, type RunCost, runsPerMonth } from '../shared/cost/pricing.ts';
import { usageOf } from '../shared/cost/usage.ts';
import { withStepopsHome } from './harness.ts';

/** Assumed minutes AWS takes to complete a copy (a daily incremental), by kind; dumps are measured. */
export const ASSUMED_COPY_MINUTES: Record<Exclude<BackupJob['type'], 'dump'>, number> = {
  'ebs-snapshot': 10,
  'rds-snapshot': 15,
  'aws-backup': 20,
};
/** Assumed minutes of an RDS restore test (restore to a temporary instance, then delete it). */
export const ASSUMED_RDS_RESTORE_MINUTES = 25;
const LONG_POLL_SECONDS = 50;
/** EventBridge Scheduler: $1.00 per million invocations after the free tier (14 million a month). */
export const SCHEDULER_PER_INVOCATION = 1 / 1_000_000;
const POLL_MEMORY_MB = 256;

/** One measured job of one target. */
export interface BackupJobCost {
  target: string;
  job: string;
  type: BackupJob['type'];
  schedule: string;
  runsPerMonth: number;
  /** Measured locally: transitions, invocations, GB-seconds of one run. */
  measured: { transitions: number; invocations: number; gbSeconds: number; wallMs: number };
  /** The assumed AWS wait added to the measured run (0 for dumps: their wait is the dump itself). */
  assumedWaitMinutes: number;
  perRun: RunCost;
  monthly: number;
  restoreTest?: {
    schedule: string;
    runsPerMonth: number;
    perRun: RunCost;
    monthly: number;
    assumedWaitMinutes: number;
  };
}

export interface BackupCostSection {
  jobs: BackupJobCost[];
  freshness: { target: string; schedule: string; runsPerMonth: number; perRun: RunCost; monthly: number }[];
  /** Monthly total per target (jobs, restore tests, freshness, EventBridge Scheduler). */
  totals: Record<string, number>;
  notes: string[];
}

/** The price of waiting `minutes` inside poll-backup's long-polls, on top of a measured run. */
function waitCost(minutes: number): RunCost {
  const polls = Math.ceil((minutes * 60) / LONG_POLL_SECONDS);
  return priceRun({
    transitions: polls * 2,
    invocations: polls,
    gbSeconds: (POLL_MEMORY_MB / 1024) * minutes * 60,
  });
}

function add(a: RunCost, b: RunCost): RunCost {
  return {
    stepFunctions: a.stepFunctions + b.stepFunctions,
    lambdaRequests: a.lambdaRequests + b.lambdaRequests,
    lambdaCompute: a.lambdaCompute + b.lambdaCompute,
    total: a.total + b.total,
  };
}

/** The local twin of a target: the same jobs, run with bash and directory copies. */
function twinOf(target: Target, host: string): TargetInput {
  return {
    name: `bench-${target.name}`,
    description: `local twin of ${target.name} for the backup benchmark`,
    hosts: { type: 'local', directory: host },
    backup: (target.backup ?? []).map((job) => {
      const common = {
        name: job.name,
        schedule: job.schedule,
        timezone: job.timezone,
        retention: job.retention,
        ...(job.rpoHours !== undefined ? { rpoHours: job.rpoHours } : {}),
      };
      if (job.type !== 'dump') return { ...common, type: 'ebs-snapshot' as const };
      return {
        ...common,
        type: 'dump' as const,
        script: 'tar -C data -czf "$STEPOPS_DUMP_FILE" .',
        timeout: 120,
        bucket: 'bench-backups',
        ...(job.restoreTest
          ? {
              restoreTest: {
                schedule: job.restoreTest.schedule,
                script: 'tar -C "$STEPOPS_SCRATCH_DIR" -xzf "$STEPOPS_RESTORE_FILE"',
                check: 'test -s "$STEPOPS_SCRATCH_DIR/table.csv"',
                timeout: 120,
              },
            }
          : {}),
      };
    }),
  };
}

/**
 * Measures one run per job (and per restore test, and the freshness check) of each target.
 *
 * @example
 * const section = await benchBackupCosts(['zmanim'], { quick: true, log: console.error });
 */
export async function benchBackupCosts(
  targetNames: readonly string[],
  options: { quick: boolean; log: (line: string) => void },
): Promise<BackupCostSection> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { createLocalBackupEngine } = await import('../functions/index.ts');
  const { BACKUP_FUNCTIONS } = await import('../workflows/backup.ts');
  const memoryMb = Object.fromEntries(BACKUP_FUNCTIONS.map((f) => [f, f === 'prune-backups' ? 512 : 256]));
  const engine = createLocalBackupEngine({ memoryMb });
  const section: BackupCostSection = { jobs: [], freshness: [], totals: {}, notes: [] };
  await withStepopsHome(async (home) => {
    const measure = async (input: Record<string, unknown>) => {
      const samples = options.quick ? 1 : 3;
      const usages = [];
      let wall = 0;
      for (let i = 0; i < samples; i += 1) {
        const started = performance.now();
        const result = await engine.start(input).result;
        wall += performance.now() - started;
        if (result.status !== 'SUCCEEDED')
          throw new Error(`${JSON.stringify(input)}: ${result.error}: ${result.cause}`);
        usages.push(
          usageOf({ transitions: result.trace.transitions, invocations: result.trace.invocations }, memoryMb),
        );
      }
      usages.sort((a, b) => a.gbSeconds - b.gbSeconds);
      const usage = usages[Math.floor(usages.length / 2)]!;
      return { usage, wallMs: wall / samples };
    };
    for (const name of targetNames) {
      const target = findTarget(name);
      const host = path.join(home, 'bench-backup-hosts', name);
      await mkdir(path.join(host, 'data'), { recursive: true });
      // A small table to dump: 2,000 rows.
      await writeFile(
        path.join(host, 'data', 'table.csv'),
        Array.from({ length: 2000 }, (_, i) => `${i},row ${i}`).join('\n'),
      );
      registerTarget(twinOf(target, host));
      let total = 0;
      for (const job of target.backup ?? []) {
        const { usage, wallMs } = await measure({
          target: `bench-${name}`,
          backup: job.name,
          reason: 'bench',
        });
        const assumed = job.type === 'dump' ? 0 : ASSUMED_COPY_MINUTES[job.type];
        const perRun = add(
          priceRun(usage),
          assumed > 0 ? waitCost(assumed) : priceRun({ transitions: 0, invocations: 0, gbSeconds: 0 }),
        );
        const runs = runsPerMonth(job.schedule);
        const row: BackupJobCost = {
          target: name,
          job: job.name,
          type: job.type,
          schedule: job.schedule,
          runsPerMonth: runs,
          measured: {
            transitions: usage.transitions,
            invocations: usage.invocations,
            gbSeconds: usage.gbSeconds,
            wallMs,
          },
          assumedWaitMinutes: assumed,
          perRun,
          monthly: perRun.total * runs,
        };
        if ((job.type === 'dump' || job.type === 'rds-snapshot') && job.restoreTest) {
          const rtRuns = runsPerMonth(job.restoreTest.schedule);
          let rtCost: RunCost;
          let rtAssumed = 0;
          if (job.type === 'dump') {
            const measured = await measure({
              target: `bench-${name}`,
              backup: job.name,
              task: 'restore-test',
            });
            rtCost = priceRun(measured.usage);
          } else {
            // The twin has no RDS: price the restore test as a plan, a start, the wait and a record.
            rtAssumed = ASSUMED_RDS_RESTORE_MINUTES;
            rtCost = add(
              priceRun({ transitions: 14, invocations: 5, gbSeconds: 5 * 0.25 * 0.05 }),
              waitCost(rtAssumed),
            );
          }
          row.restoreTest = {
            schedule: job.restoreTest.schedule,
            runsPerMonth: rtRuns,
            perRun: rtCost,
            monthly: rtCost.total * rtRuns,
            assumedWaitMinutes: rtAssumed,
          };
        }
        section.jobs.push(row);
        total += row.monthly + (row.restoreTest?.monthly ?? 0);
        options.log(
          `  ${name}/${job.name} (${job.type}): ${usage.transitions} transitions, ${usage.invocations} invocations, ${usage.gbSeconds.toFixed(4)} GB-s measured; $${perRun.total.toPrecision(3)}/run × ${runs.toFixed(1)}/month = $${row.monthly.toFixed(4)}/month`,
        );
      }
      if ((target.backup ?? []).some((j) => j.rpoHours !== undefined)) {
        const schedule = target.backupOptions?.freshnessSchedule ?? 'rate(1 hour)';
        const { usage } = await measure({ target: `bench-${name}`, task: 'freshness' });
        const perRun = priceRun(usage);
        const runs = runsPerMonth(schedule);
        section.freshness.push({
          target: name,
          schedule,
          runsPerMonth: runs,
          perRun,
          monthly: perRun.total * runs,
        });
        total += perRun.total * runs;
      }
      const invocations =
        (target.backup ?? []).reduce(
          (sum, j) =>
            sum +
            runsPerMonth(j.schedule) +
            ('restoreTest' in j && j.restoreTest ? runsPerMonth(j.restoreTest.schedule) : 0),
          0,
        ) + (section.freshness.find((f) => f.target === name)?.runsPerMonth ?? 0);
      total += invocations * SCHEDULER_PER_INVOCATION;
      section.totals[name] = total;
    }
  });
  section.notes.push(
    'Measured: one execution per job (as its schedule starts it) of the real backup workflow on the local engine, real handlers, dumps a real tar of a 2,000-row table with bash into the local object store, snapshots real directory copies; the median of the samples.',
    `Assumed, because AWS's time to complete a copy cannot be measured locally: EBS ${ASSUMED_COPY_MINUTES['ebs-snapshot']} min, RDS ${ASSUMED_COPY_MINUTES['rds-snapshot']} min, AWS Backup ${ASSUMED_COPY_MINUTES['aws-backup']} min, an RDS restore test ${ASSUMED_RDS_RESTORE_MINUTES} min; priced as poll-backup waiting in its 50 s long-polls (256 MB) plus one poll invocation and two transitions per 50 s.`,
    'Not priced: the copies themselves (EBS snapshot storage, RDS snapshot storage beyond the free allowance, S3 storage and requests of the dumps, the temporary RDS instance of a restore test), DynamoDB catalogue writes, CloudWatch Logs, SNS.',
  );
  return section;
}
