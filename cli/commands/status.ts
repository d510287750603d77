import { newestGoodEntry } from '../../shared/backup/retention.ts';
import { findTarget, listTargets } from '../../shared/config/registry.ts';
import {
  type NextRun,
  nextScheduledRun,
  type TargetSchedule,
  targetSchedules,
} from '../../shared/config/schedule.ts';
import type { Target } from '../../shared/config/schema.ts';
import { stageResourceNames } from '../../shared/drivers/options.ts';
import type { CatalogueEntry, Lease } from '../../shared/drivers/ports.ts';
import { targetLeaseKey } from '../../shared/lease-keys.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import type { RunSource, RunSummary } from '../runs/model.ts';
import { runSourceFor, type SourceDeps, type WhereOptions } from '../runs/source.ts';
import { age, formatBytes, painter, runDuration, statusColour, table, until } from '../runs/style.ts';
import { WORKFLOWS } from '../runs/workflows.ts';
import { stageRegion } from '../stage-region.ts';

/** One target's line per workflow. */
export interface WorkflowStatus {
  target: string;
  workflow: string;
  running?: RunSummary;
  last?: RunSummary;
}

/** One probe as the health checks last recorded it. */
export interface ProbeHealth {
  probe: string;
  host?: string;
  status: 'up' | 'down';
  since: string;
  lastDetail: string;
  lastAt: string;
}

/** A backup job's newest good copy, as the catalogue records it. */
export interface BackupStatus {
  backup: string;
  newestGood?: Pick<CatalogueEntry, 'runId' | 'location' | 'startedAt' | 'finishedAt' | 'sizeBytes'>;
  /** The newest good copy is older than the job's RPO (or there is none). */
  late?: boolean;
}

/** A schedule of a target and when it fires next (absent when that cannot be known). */
export interface ScheduleStatus {
  target: string;
  workflow: TargetSchedule['workflow'];
  job: string;
  expression: string;
  timezone: string;
  next?: NextRun;
}

/** The status of targets: their workflows, leases, probes, backups and schedules. */
export interface StatusReport {
  where: string;
  workflows: WorkflowStatus[];
  /** The holder of each target's lease (`null` when free, absent when it cannot be read). */
  leases: Record<string, Lease | null>;
  /** Each target's probes as the health checks recorded them (`[]`: never checked; absent: cannot be read). */
  health: Record<string, ProbeHealth[]>;
  /** Each backup job's newest good copy, per target that declares backups (absent: cannot be read). */
  backups: Record<string, BackupStatus[]>;
  schedules: ScheduleStatus[];
}

/** Options of {@link status}. */
export interface StatusOptions extends WhereOptions {
  json?: boolean;
}

/** What `status` needs besides the options. */
export interface StatusDeps extends SourceDeps {
  output?: Output;
  now?: () => number;
  isTTY?: boolean;
  /** Reads a target's lease; by default the local lease file, or the stage's state table (`stepops-<stage>-state`, or `STEPOPS_STATE_TABLE`). */
  lease?: (target: Target) => Promise<Lease | undefined | 'unknown'>;
  /** Reads a target's recorded probe states; by default the health store, as for the lease. */
  health?: (target: Target) => Promise<ProbeHealth[] | 'unknown'>;
  /** Reads a target's backup catalogue; by default the local catalogue file or `STEPOPS_BACKUP_TABLE`. */
  catalogue?: (target: Target) => Promise<CatalogueEntry[] | 'unknown'>;
}

/** What {@link gatherStatus} reads besides the runs. */
export interface StatusReaders {
  lease: (target: Target) => Promise<Lease | undefined | 'unknown'>;
  health?: (target: Target) => Promise<ProbeHealth[] | 'unknown'>;
  catalogue?: (target: Target) => Promise<CatalogueEntry[] | 'unknown'>;
  /** Epoch ms the next scheduled runs are counted from. */
  now?: number;
}

export async function defaultCatalogue(
  target: Target,
  local: boolean,
  env: NodeJS.ProcessEnv,
): Promise<CatalogueEntry[] | 'unknown'> {
  if (!local && !env.STEPOPS_BACKUP_TABLE) return 'unknown';
  const { backupCatalogueFor } = await import('../../shared/drivers/catalogue.ts');
  // Locally the file catalogue, whatever the environment names.
  const catalogue = local
    ? backupCatalogueFor({}, {})
    : backupCatalogueFor({ region: stageRegion(env) }, env);
  return catalogue.list(target.name);
}

/**
 * Each backup job's newest good copy from a target's catalogue entries (newest first).
 *
 * @example
 * newestGoodCopies(target, await catalogue.list('docsai'), Date.now())
 */
export function newestGoodCopies(
  target: Target,
  entries: readonly CatalogueEntry[],
  now: number,
): BackupStatus[] {
  return (target.backup ?? []).map((job) => {
    const good = newestGoodEntry(entries, new Date(now), (e) => e.backup === job.name);
    const copy = good
      ? {
          runId: good.runId,
          location: good.location,
          startedAt: good.startedAt,
          ...(good.finishedAt ? { finishedAt: good.finishedAt } : {}),
          ...(good.sizeBytes !== undefined ? { sizeBytes: good.sizeBytes } : {}),
        }
      : undefined;
    const late =
      job.rpoHours !== undefined &&
      (!copy || now - Date.parse(copy.finishedAt ?? copy.startedAt) > job.rpoHours * 3_600_000);
    return { backup: job.name, ...(copy ? { newestGood: copy } : {}), ...(late ? { late } : {}) };
  });
}

/**
 * When each schedule of a target fires next; a rate's next run is estimated from the last run that
 * was recorded for it (the backup's newest copy, the probes' last check).
 *
 * @example
 * nextRuns(target, { entries, probes }, Date.now())
 */
export function nextRuns(
  target: Target,
  recorded: { entries?: readonly CatalogueEntry[]; probes?: readonly ProbeHealth[] },
  now: number,
): ScheduleStatus[] {
  return targetSchedules(target).map((schedule) => {
    const last =
      schedule.workflow === 'health'
        ? recorded.probes
            ?.map((p) => p.lastAt)
            .sort()
            .at(-1)
        : schedule.backup && !schedule.task
          ? recorded.entries?.find((e) => e.backup === schedule.backup)?.startedAt
          : undefined;
    const next = nextScheduledRun(schedule.expression, {
      after: now,
      timezone: schedule.timezone,
      ...(last ? { lastRun: Date.parse(last) } : {}),
    });
    return {
      target: target.name,
      workflow: schedule.workflow,
      job: schedule.job,
      expression: schedule.expression,
      timezone: schedule.timezone,
      ...(next ? { next } : {}),
    };
  });
}

/** The DynamoDB client of the stage's tables, in the stage's region. */
async function stageDynamo(env: NodeJS.ProcessEnv) {
  const { dynamoClient } = await import('../../shared/drivers/aws/clients.ts');
  return dynamoClient(stageRegion(env));
}

async function defaultHealth(
  target: Target,
  local: boolean,
  env: NodeJS.ProcessEnv,
): Promise<ProbeHealth[] | 'unknown'> {
  if (!local && !env.STEPOPS_STATE_TABLE) return 'unknown';
  const store = local
    ? (await import('../../shared/drivers/health.ts')).healthStoreFor(target)
    : new (await import('../../shared/drivers/aws/dynamo-health-store.ts')).DynamoHealthStore(
        env.STEPOPS_STATE_TABLE!,
        { client: await stageDynamo(env) },
      );
  const record = await store.read(target.name);
  if (!record) return [];
  const state = JSON.parse(record.body) as { probes?: Record<string, ProbeHealth & Record<string, unknown>> };
  return Object.values(state.probes ?? {}).map((p) => ({
    probe: p.probe,
    ...(p.host ? { host: p.host } : {}),
    status: p.status,
    since: p.since,
    lastDetail: p.lastDetail,
    lastAt: p.lastAt,
  }));
}

async function defaultLease(
  target: Target,
  local: boolean,
  env: NodeJS.ProcessEnv,
): Promise<Lease | undefined | 'unknown'> {
  if (!local) {
    if (!env.STEPOPS_STATE_TABLE) return 'unknown';
    const { DynamoLeaseStore } = await import('../../shared/drivers/aws/dynamo-lease-store.ts');
    return new DynamoLeaseStore(env.STEPOPS_STATE_TABLE, { client: await stageDynamo(env) }).holder(
      targetLeaseKey(target.name),
    );
  }
  const { leaseStoreFor } = await import('../../shared/drivers/leases.ts');
  const store = leaseStoreFor(target) as { holder?: (key: string) => Promise<Lease | undefined> };
  return store.holder ? store.holder(targetLeaseKey(target.name)) : 'unknown';
}

/**
 * Gathers the status of targets from a run source.
 *
 * @example
 * const report = await gatherStatus(source, [findTarget('zmanim')], { lease: async () => undefined });
 */
export async function gatherStatus(
  source: RunSource,
  targets: readonly Target[],
  readers: StatusReaders,
): Promise<StatusReport> {
  const now = readers.now ?? Date.now();
  const unknown = async () => 'unknown' as const;
  const { lease, health = unknown, catalogue = unknown } = readers;
  const report: StatusReport = {
    where: source.where,
    workflows: [],
    leases: {},
    health: {},
    backups: {},
    schedules: [],
  };
  // Express workflows keep no history to list: the health checks show through what they record.
  const available = WORKFLOWS.filter(
    (w) =>
      !w.express &&
      (source.where === 'local' ||
        (source as { stateMachines?: Record<string, string> }).stateMachines?.[w.name]),
  );
  for (const target of targets) {
    for (const workflow of available) {
      const recent = await source.list(workflow.name, { target: target.name, limit: 10 });
      const running = recent.find((r) => r.status === 'RUNNING');
      const last = recent.find((r) => r.status !== 'RUNNING');
      report.workflows.push({
        target: target.name,
        workflow: workflow.name,
        ...(running ? { running } : {}),
        ...(last ? { last } : {}),
      });
    }
    const holder = await lease(target).catch(() => 'unknown' as const);
    if (holder !== 'unknown') report.leases[target.name] = holder ?? null;
    const probes = await health(target).catch(() => 'unknown' as const);
    if (probes !== 'unknown') report.health[target.name] = probes;
    const entries = target.backup?.length ? await catalogue(target).catch(() => 'unknown' as const) : [];
    if (entries !== 'unknown' && target.backup?.length) {
      report.backups[target.name] = newestGoodCopies(target, entries, now);
    }
    report.schedules.push(
      ...nextRuns(
        target,
        {
          ...(entries !== 'unknown' ? { entries } : {}),
          ...(probes !== 'unknown' ? { probes } : {}),
        },
        now,
      ),
    );
  }
  return report;
}

/** `in 3 h (2026-12-03 02:00 UTC)`; `~` before an estimate; the rate itself when unknown. */
function nextRunText(schedule: ScheduleStatus, now: number): string {
  if (!schedule.next) {
    const rate = /^rate\((\d+) (\w+)\)$/.exec(schedule.expression);
    return rate ? `every ${rate[1] === '1' ? '' : `${rate[1]} `}${rate[2]}` : 'unknown';
  }
  const { at, estimated } = schedule.next;
  const stamp = new Date(at).toISOString().slice(0, 16).replace('T', ' ');
  return `${estimated ? '~' : ''}${until(at, now)} (${stamp} UTC)`;
}

/**
 * The status screen.
 *
 * @example
 * formatStatus(report, Date.now())
 */
export function formatStatus(report: StatusReport, now: number, paint = painter({})): string {
  const rows = [['TARGET', 'WORKFLOW', 'RUNNING', 'LAST RUN', 'LOCK']];
  for (const line of report.workflows) {
    const running = line.running
      ? paint(
          'cyan',
          `${line.running.runId} ${line.running.ref ?? ''} (${runDuration(line.running.startedAt, undefined, now)})`.replace(
            / {2}/,
            ' ',
          ),
        )
      : '—';
    const last = line.last
      ? `${paint(statusColour(line.last.status), line.last.status)}${line.last.error && line.last.status !== 'SUCCEEDED' ? ` ${line.last.error}` : ''} ${line.last.ref ?? ''} ${age(line.last.stoppedAt ?? line.last.startedAt, now)}`.replace(
          / {2,}/g,
          ' ',
        )
      : 'never run';
    const holder = report.leases[line.target];
    const lock =
      holder === undefined
        ? 'unknown'
        : holder === null
          ? 'free'
          : `held by ${holder.owner} until ${new Date(holder.expiresAt * 1000).toISOString()}`;
    rows.push([line.target, line.workflow, running, last, lock]);
  }
  const lines = [table(rows)];
  const probeRows = [['TARGET', 'PROBE', 'STATE', 'SINCE', 'LAST CHECK']];
  for (const [target, probes] of Object.entries(report.health)) {
    if (probes.length === 0) probeRows.push([target, '—', 'never checked', '', '']);
    for (const p of probes) {
      probeRows.push([
        target,
        `${p.probe}${p.host ? ` on ${p.host}` : ''}`,
        paint(p.status === 'up' ? 'green' : 'red', p.status),
        age(p.since, now),
        `${age(p.lastAt, now)}: ${p.lastDetail}`,
      ]);
    }
  }
  if (probeRows.length > 1) lines.push('', table(probeRows));
  const backupRows = [['TARGET', 'BACKUP', 'NEWEST GOOD COPY', 'WHERE']];
  for (const [target, backups] of Object.entries(report.backups)) {
    for (const b of backups) {
      const copy = b.newestGood;
      const when = copy
        ? `${age(copy.finishedAt ?? copy.startedAt, now)}${copy.sizeBytes !== undefined ? ` (${formatBytes(copy.sizeBytes)})` : ''}`
        : 'none';
      backupRows.push([
        target,
        b.backup,
        b.late ? paint('red', `${when}, older than its RPO`) : paint(copy ? 'green' : 'yellow', when),
        copy?.location ?? '',
      ]);
    }
  }
  if (backupRows.length > 1) lines.push('', table(backupRows));
  const scheduleRows = [['TARGET', 'SCHEDULED', 'WHEN', 'NEXT RUN']];
  for (const s of report.schedules) {
    scheduleRows.push([
      s.target,
      `${s.workflow} ${s.job}`,
      `${s.expression}${s.timezone === 'UTC' ? '' : ` ${s.timezone}`}`,
      nextRunText(s, now),
    ]);
  }
  if (scheduleRows.length > 1) lines.push('', table(scheduleRows));
  return lines.join('\n');
}

/**
 * Prints the status of one target, or of every target of the registry that runs there.
 *
 * @example
 * process.exitCode = await status(undefined, { stage: 'prod' });
 * @returns the exit code
 */
export async function status(
  target: string | undefined,
  options: StatusOptions,
  deps: StatusDeps = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  const source = await runSourceFor(options, deps);
  const local = source.where === 'local';
  const targets =
    target !== undefined
      ? [findTarget(target)]
      : listTargets()
          .map((name) => findTarget(name))
          .filter((t) => (t.hosts.type === 'local') === local);
  // The stacks name a stage's state table after the stage; STEPOPS_STATE_TABLE names another.
  const stateTable = local
    ? undefined
    : env.STEPOPS_STATE_TABLE || stageResourceNames(source.where).stateTable;
  const readEnv = stateTable ? { ...env, STEPOPS_STATE_TABLE: stateTable } : env;
  const report = await gatherStatus(source, targets, {
    lease: deps.lease ?? ((t) => defaultLease(t, local, readEnv)),
    health: deps.health ?? ((t) => defaultHealth(t, local, readEnv)),
    catalogue: deps.catalogue ?? ((t) => defaultCatalogue(t, local, env)),
    now: (deps.now ?? Date.now)(),
  });
  if (options.json) {
    out.out(JSON.stringify(report, null, 2));
    return EXIT.ok;
  }
  out.out(
    `${local ? 'local runs' : `stage ${source.where}`} · ${targets.length} target${targets.length === 1 ? '' : 's'}`,
  );
  out.out(
    formatStatus(report, (deps.now ?? Date.now)(), painter({ isTTY: deps.isTTY ?? process.stdout.isTTY })),
  );
  if (!local && Object.keys(report.leases).length === 0) {
    out.out(
      `(locks and probe states: the state table ${stateTable} could not be read; set STEPOPS_STATE_TABLE to the stage's state table)`,
    );
  }
  if (!local && targets.some((t) => t.backup?.length) && Object.keys(report.backups).length === 0) {
    out.out(
      "(newest good backups: set STEPOPS_BACKUP_TABLE to the stage's backup catalogue table to read them)",
    );
  }
  return EXIT.ok;
}
