/**
 * `stepops health <target> [--stage S]`: one health round. Without a stage, on the local engine,
 * printed as a table (probe, state, value, condition, since); a runbook the round requested is
 * carried out through the local recover workflow, waiting for its approval as on AWS. With one, a
 * synchronous run of the stage's health state machine. `stepops health history <target>` (also
 * `uptime`): the uptime history per day and probe. `stepops watch <target>`: the target's schedule
 * in the foreground, the table redrawn after each run, until Ctrl-C — a local monitor.
 */
import { randomBytes } from 'node:crypto';
import type { Target } from '../../shared/config/schema.ts';
import { healthHistoryFor, healthStoreFor } from '../../shared/drivers/health.ts';
import { stageResourceNames } from '../../shared/drivers/options.ts';
import { HEALTH_HISTORY_DAYS } from '../../shared/drivers/ports.ts';
import type { LocalEngine } from '../../shared/engine/index.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import type { HealthRunSummary } from '../../shared/health/contracts.ts';
import { type HealthDay, historyRows, lastDays } from '../../shared/health/history.ts';
import { describeProbe } from '../../shared/health/plan.ts';
import { emptyHealthState, type TargetHealthState } from '../../shared/health/state.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import { checkAwsCredentials, resolveRunTarget } from '../runs/engine.ts';
import { type SourceDeps, stageOf } from '../runs/source.ts';
import { stageRegion } from '../stage-region.ts';

/** The health workflow on the local engine, with the real handlers (quiet logs). */
async function healthEngine(): Promise<LocalEngine> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { createLocalHealthEngine } = await import('../../functions/index.ts');
  return createLocalHealthEngine();
}

async function healthTarget(name: string): Promise<Target> {
  const target = await resolveRunTarget(name);
  if (!target.health) throw new InvalidInputError(`target "${target.name}" has no health section`);
  return target;
}

/**
 * Milliseconds between runs of a schedule expression in the watch: a rate as it says; a cron
 * expression runs every minute in the watch (the local monitor does not evaluate cron fields).
 *
 * @example
 * scheduleIntervalMs('rate(5 minutes)') // 300000
 */
export function scheduleIntervalMs(expression: string): number {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (!rate) return 60_000;
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[rate[2] as 'minute' | 'hour' | 'day'];
  return Number(rate[1]) * unit;
}

function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

function cut(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/**
 * The table of a target's probe states: probe, state, value (the last observation), condition,
 * since (when the current state began).
 *
 * @example
 * healthTable(target, state, Date.now())
 */
export function healthTable(target: Target, state: TargetHealthState, now: number): string {
  const conditions = new Map((target.health?.probes ?? []).map((p) => [p.name, describeProbe(p)]));
  const rows = Object.values(state.probes).map((p) => [
    p.host ? `${p.probe} @ ${p.host}` : p.probe,
    p.status === 'down'
      ? p.flapping
        ? 'DOWN (flapping)'
        : 'DOWN'
      : p.flapping
        ? 'FLAPPING'
        : p.consecutiveFailures > 0
          ? `FAILING (${p.consecutiveFailures} in a row)`
          : 'up',
    cut(p.lastDetail, 48),
    cut(conditions.get(p.probe) ?? '', 60),
    ago(p.since, now),
  ]);
  const header = ['probe', 'state', 'value', 'condition', 'since'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One run's outcome, in a line. */
function runLine(summary: HealthRunSummary): string {
  const parts = [
    summary.failing
      ? `${summary.up} up, ${summary.failing} failing, ${summary.down} down`
      : `${summary.up} up, ${summary.down} down`,
  ];
  const went: Record<HealthRunSummary['events'][number]['kind'], string> = {
    up: 'went up',
    down: 'went down',
    'still-down': 'is still down',
    'down-in-maintenance': 'is down during the maintenance',
    flapping: 'is flapping',
    stable: 'stopped flapping',
  };
  for (const event of summary.events) {
    parts.push(
      `${event.probe}${event.host ? ` @ ${event.host}` : ''} ${went[event.kind]}${event.alerted ? ' (alerted)' : ' (recorded, not alerted)'}`,
    );
  }
  if (summary.maintenance) parts.push(`maintenance: ${summary.maintenance}`);
  for (const recovery of summary.recoveries ?? (summary.recovery ? [summary.recovery] : [])) {
    parts.push(
      recovery.started
        ? `requested runbook ${recovery.runbook}`
        : `runbook ${recovery.runbook} not requested: ${recovery.why ?? ''}`,
    );
  }
  return parts.join('; ');
}

/**
 * Runs each runbook the health run requested through the local recover workflow, as the recover
 * state machine would on AWS: a `health-alert` run that waits for its approval (from this terminal
 * or `stepops approve` in another), under the execution name the alert gave.
 */
async function carryOutRecoveries(
  summary: HealthRunSummary,
  out: Output,
  interactive?: boolean,
): Promise<void> {
  const { runRecover } = await import('./recover.ts');
  for (const recovery of summary.recoveries ?? []) {
    if (!recovery.started) continue;
    out.out(`runbook ${recovery.runbook} requested by the alert: running it through the recover workflow`);
    const report = await runRecover({
      target: summary.target,
      runbook: recovery.runbook,
      trigger: 'health-alert',
      reason: `requested by health run ${summary.runId}`,
      requestedBy: 'stepops health',
      output: out,
      ...(interactive !== undefined ? { interactive } : {}),
      ...(recovery.executionId ? { executionName: recovery.executionId.slice(0, 80) } : {}),
    });
    out.out(
      report.exitCode === 0
        ? `runbook ${recovery.runbook} finished (run ${report.executionName ?? recovery.executionId})`
        : `runbook ${recovery.runbook} did not finish: ${report.error ?? 'failed'}${report.cause ? `: ${report.cause}` : ''}`,
    );
  }
}

export interface HealthRunOptions {
  target: string;
  output?: Output;
  /** The engine to run on (the watch reuses one). */
  engine?: LocalEngine;
  /**
   * Carry out the runbooks the run requested through the local recover workflow, waiting for
   * their approval as on AWS (the CLI does; the demo carries them out itself). `background`
   * (the watch): started without waiting, approved from another shell, while the checks go on.
   */
  recover?: boolean | 'background';
  /** The recoveries started in the background (the watch waits for them when it stops). */
  background?: Promise<void>[];
}

/**
 * Runs the target's health check once on the local engine and prints the table.
 *
 * @returns exit code 0 when every probe is up, 1 when one is down or the run failed
 * @example
 * process.exitCode = (await runHealthOnce({ target: 'demo' })).exitCode;
 */
export async function runHealthOnce(
  options: HealthRunOptions,
): Promise<{ exitCode: number; summary?: HealthRunSummary }> {
  const out = options.output ?? stdio;
  const target = await healthTarget(options.target);
  // An ec2 target's probes go through AWS: refused before a round records anything without credentials.
  if (!options.engine) await checkAwsCredentials(target);
  const engine = options.engine ?? (await healthEngine());
  const runId = `health-${target.name}-${Date.now()}`;
  const result = await engine.start({ target: target.name }, { executionName: runId }).result;
  if (result.status !== 'SUCCEEDED') {
    out.err(
      `stepops: health check of ${target.name} failed: ${result.error ?? 'error'}: ${result.cause ?? ''}`,
    );
    return { exitCode: EXIT.unexpected };
  }
  const summary = result.output as HealthRunSummary;
  const record = await healthStoreFor(target).read(target.name);
  const state = record ? (JSON.parse(record.body) as TargetHealthState) : emptyHealthState(target.name);
  out.out(`health ${target.name} (run ${runId}): ${runLine(summary)}`);
  out.out(healthTable(target, state, Date.now()));
  if (options.recover === 'background') {
    const running = carryOutRecoveries(summary, out, false).catch((error: unknown) => {
      out.err(`stepops: a recovery requested by health could not run: ${String(error)}`);
    });
    const list = options.background;
    if (list) {
      list.push(running);
      void running.then(() => list.splice(list.indexOf(running), 1));
    }
  } else if (options.recover) {
    await carryOutRecoveries(summary, out);
  }
  return { exitCode: summary.down > 0 ? EXIT.unexpected : EXIT.ok, summary };
}

/**
 * Runs the target's health check on its schedule until `signal` aborts, redrawing the table.
 *
 * @example
 * const controller = new AbortController();
 * process.once('SIGINT', () => controller.abort());
 * await watchHealth({ target: 'demo', signal: controller.signal });
 */
export async function watchHealth(
  options: HealthRunOptions & { signal: AbortSignal; clear?: boolean },
): Promise<void> {
  const out = options.output ?? stdio;
  const target = await healthTarget(options.target);
  await checkAwsCredentials(target);
  const engine = options.engine ?? (await healthEngine());
  const interval = scheduleIntervalMs(target.health!.schedule);
  const background: Promise<void>[] = [];
  while (!options.signal.aborted) {
    if (options.clear) out.out('\u001b[2J\u001b[H');
    out.out(
      `watching ${target.name}: ${target.health!.schedule} (every ${interval / 1000} s), Ctrl-C to stop`,
    );
    await runHealthOnce({
      target: target.name,
      output: out,
      engine,
      ...(options.recover ? { recover: 'background' as const, background } : {}),
    });
    // Ctrl-C during the run: stop now, not after the interval.
    if (options.signal.aborted) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, interval);
      options.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
  if (background.length > 0) {
    out.out(
      `the watch stopped; waiting for the ${background.length} recovery run(s) it started that have not finished (approve or reject them with stepops approve|reject <run>)`,
    );
    await Promise.all(background);
  }
}

function ms(value: number | undefined): string {
  if (value === undefined) return '-';
  return value === Infinity ? '>10 s' : `≤${value} ms`;
}

/**
 * A stage's health stores: its state table (STEPOPS_STATE_TABLE names another) in the stage's
 * region, where its stack was deployed (STEPOPS_REGION), whatever region the target's hosts are in.
 */
async function stageHealthStores(stage: string, env: NodeJS.ProcessEnv) {
  const [{ dynamoClient }, { DynamoHealthHistory }, { DynamoHealthStore }] = await Promise.all([
    import('../../shared/drivers/aws/dynamo-client.ts'),
    import('../../shared/drivers/aws/dynamo-health-history.ts'),
    import('../../shared/drivers/aws/dynamo-health-store.ts'),
  ]);
  const table = env.STEPOPS_STATE_TABLE?.trim() || stageResourceNames(stage).stateTable;
  const client = dynamoClient(stageRegion(env));
  return {
    history: new DynamoHealthHistory(table, { client }),
    state: new DynamoHealthStore(table, { client }),
  };
}

/**
 * Prints a target's uptime history: per day (newest first) and probe, the checks, the uptime and
 * the latency percentiles (as the bounds of the buckets they fell in). Today's counts come from
 * the probe state, the finished days from the history store.
 *
 * @returns exit code 0; 2 for bad options
 * @example
 * await healthHistory({ target: 'zmanim', days: 7 });
 */
export async function healthHistory(
  options: HealthCommandOptions & {
    target: string;
    probe?: string;
    days?: number;
    output?: Output;
    now?: Date;
    env?: NodeJS.ProcessEnv;
  },
): Promise<number> {
  const out = options.output ?? stdio;
  const env = options.env ?? process.env;
  const stage = stageOf(options, env);
  const target = await healthTarget(options.target);
  if (stage !== undefined && target.hosts.type === 'local') {
    throw new InvalidInputError(
      `target "${target.name}" declares local hosts: its checks are recorded on this machine (stepops health history ${target.name}, without --stage)`,
    );
  }
  const days = options.days ?? 7;
  if (!Number.isInteger(days) || days < 1 || days > HEALTH_HISTORY_DAYS) {
    throw new InvalidInputError(
      `--days ${options.days}: expected a whole number of days from 1 to ${HEALTH_HISTORY_DAYS}`,
    );
  }
  if (options.probe && !target.health!.probes.some((p) => p.name === options.probe)) {
    throw new InvalidInputError(
      `target "${target.name}" has no probe named "${options.probe}" (probes: ${target.health!.probes.map((p) => p.name).join(', ')})`,
    );
  }
  const wanted = lastDays(options.now ?? new Date(), days);
  const { history, state } =
    stage === undefined
      ? { history: healthHistoryFor(target), state: healthStoreFor(target) }
      : await stageHealthStores(stage, env);
  const stored = await history.readDays(target.name, wanted);
  const found: HealthDay[] = Object.values(stored).flatMap((body) => {
    try {
      return [JSON.parse(body) as HealthDay];
    } catch {
      return [];
    }
  });
  const record = await state.read(target.name);
  const today = record ? (JSON.parse(record.body) as TargetHealthState).today : undefined;
  if (today && wanted.includes(today.day)) found.push(today);
  const rows = historyRows(found, options.probe);
  out.out(
    `uptime of ${target.name}${stage === undefined ? '' : ` on stage ${stage}`}, last ${days} day${days === 1 ? '' : 's'} (UTC)${options.probe ? `, probe ${options.probe}` : ''}`,
  );
  if (rows.length === 0) {
    out.out('no checks recorded in these days');
    return EXIT.ok;
  }
  const table = rows.map((r) => [
    r.day,
    r.probe,
    String(r.checks),
    `${r.uptime.toFixed(r.uptime === 100 ? 0 : 2)}%`,
    ms(r.p50),
    ms(r.p95),
    ms(r.p99),
  ]);
  const header = ['day', 'probe', 'checks', 'uptime', 'p50', 'p95', 'p99'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  out.out([line(header), ...table.map(line)].join('\n'));
  return EXIT.ok;
}

/** Options of `stepops health`. */
export interface HealthCommandOptions {
  stage?: string;
  local?: boolean;
}

/**
 * One health round of a target: on a stage, a synchronous run of the stage's Express health state
 * machine (`StartSyncExecution`: it records the round, alerts on transitions and starts the recovery
 * an alert asks for, as a scheduled round does); without one, a round on the local engine, the
 * runbooks it requests carried out through the local recover workflow.
 *
 * @returns 0 when every probe is up, 1 when one is down or the run failed, 2 for bad input
 * @example
 * process.exitCode = await health('zmanim', { stage: 'prod' });
 */
export async function health(
  targetName: string,
  options: HealthCommandOptions,
  deps: SourceDeps & { output?: Output } = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  const stage = stageOf(options, env);
  if (stage === undefined)
    return (await runHealthOnce({ target: targetName, recover: true, output: out })).exitCode;
  const target = await healthTarget(targetName);
  if (target.hosts.type === 'local') {
    throw new InvalidInputError(
      `target "${target.name}" declares local hosts: it runs on the local engine only (stepops health ${target.name}, without --stage)`,
    );
  }
  const [{ StartSyncExecutionCommand }, { SfnRunSource, sfnClient, stageStateMachines }, { workflowNames }] =
    await Promise.all([
      import('@aws-sdk/client-sfn'),
      import('../runs/aws.ts'),
      import('../runs/workflows.ts'),
    ]);
  const client = deps.sfn ?? sfnClient(env);
  const source = new SfnRunSource(client, stage, await stageStateMachines(client, stage, workflowNames()));
  const name = `${target.name}-health-${randomBytes(8).toString('hex')}`;
  const answer = await client.send(
    new StartSyncExecutionCommand({
      stateMachineArn: source.stateMachineArn('health'),
      name,
      input: JSON.stringify({ target: target.name }),
    }),
  );
  if (answer.status !== 'SUCCEEDED') {
    out.err(
      `stepops: health round ${name} of ${target.name} on stage ${stage} ${answer.status === 'TIMED_OUT' ? 'timed out' : 'failed'}: ${answer.error ?? 'error'}${answer.cause ? `: ${answer.cause}` : ''}`,
    );
    return EXIT.unexpected;
  }
  const summary = JSON.parse(answer.output ?? '{}') as HealthRunSummary;
  out.out(`health ${target.name} on stage ${stage} (run ${name}): ${runLine(summary)}`);
  return summary.down > 0 ? EXIT.unexpected : EXIT.ok;
}
