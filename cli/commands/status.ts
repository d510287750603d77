/**
 * `stepops status [target] [--stage S | --local] [--json]`: per target and workflow, the run in
 * progress and the last one that ended (outcome, ref, age), who holds the target's lease, and each
 * probe's state as the health checks recorded it, in one screen.
 */
import type { Command } from 'commander';
import { findTarget, listTargets } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import { targetLeaseKey } from '../../shared/deploy/steps.ts';
import type { Lease } from '../../shared/drivers/ports.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import type { RunSource, RunSummary } from '../runs/model.ts';
import { runSourceFor, type SourceDeps, WHERE_HELP, type WhereOptions } from '../runs/source.ts';
import { age, painter, runDuration, statusColour, table } from '../runs/style.ts';
import { WORKFLOWS } from '../runs/workflows.ts';

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

/** The status of targets: their workflows, leases and probes. */
export interface StatusReport {
  where: string;
  workflows: WorkflowStatus[];
  /** The holder of each target's lease (`null` when free, absent when it cannot be read). */
  leases: Record<string, Lease | null>;
  /** Each target's probes as the health checks recorded them (`[]`: never checked; absent: cannot be read). */
  health: Record<string, ProbeHealth[]>;
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
  /** Reads a target's lease; by default the local lease file (local) or `STEPOPS_STATE_TABLE` (stage). */
  lease?: (target: Target) => Promise<Lease | undefined | 'unknown'>;
  /** Reads a target's recorded probe states; by default the health store, as for the lease. */
  health?: (target: Target) => Promise<ProbeHealth[] | 'unknown'>;
}

async function defaultHealth(
  target: Target,
  local: boolean,
  env: NodeJS.ProcessEnv,
): Promise<ProbeHealth[] | 'unknown'> {
  if (!local && !env.STEPOPS_STATE_TABLE) return 'unknown';
  const { healthStoreFor } = await import('../../shared/drivers/health.ts');
  const record = await healthStoreFor(target, local ? {} : { stateTable: env.STEPOPS_STATE_TABLE! }).read(
    target.name,
  );
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
    return new DynamoLeaseStore(env.STEPOPS_STATE_TABLE).holder(targetLeaseKey(target.name));
  }
  const { leaseStoreFor } = await import('../../shared/drivers/leases.ts');
  const store = leaseStoreFor(target) as { holder?: (key: string) => Promise<Lease | undefined> };
  return store.holder ? store.holder(targetLeaseKey(target.name)) : 'unknown';
}

/**
 * Gathers the status of targets from a run source.
 *
 * @example
 * const report = await gatherStatus(source, ['zmanim']);
 */
export async function gatherStatus(
  source: RunSource,
  targets: readonly Target[],
  lease: (target: Target) => Promise<Lease | undefined | 'unknown'>,
  health: (target: Target) => Promise<ProbeHealth[] | 'unknown'> = async () => 'unknown',
): Promise<StatusReport> {
  const report: StatusReport = { where: source.where, workflows: [], leases: {}, health: {} };
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
  }
  return report;
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
  const report = await gatherStatus(
    source,
    targets,
    deps.lease ?? ((t) => defaultLease(t, local, env)),
    deps.health ?? ((t) => defaultHealth(t, local, env)),
  );
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
    out.out("(locks and probe states: set STEPOPS_STATE_TABLE to the stage's state table to read them)");
  }
  return EXIT.ok;
}

/**
 * Adds `status` to the program.
 *
 * @example
 * register(program);
 */
export function register(program: Command): void {
  program
    .command('status [target]')
    .description('per target and workflow: the run in progress, the last run, the lock holder')
    .option('--stage <stage>', WHERE_HELP.stage)
    .option('--local', WHERE_HELP.local)
    .option('--json', 'print JSON')
    .action(async (target: string | undefined, options: StatusOptions) => {
      process.exitCode = await status(target, options);
    });
}
