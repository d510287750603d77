/**
 * `stepops run health <target>`: one health run on the local engine, printed as a table (probe,
 * state, value, condition, since); a runbook the run requested is carried out through the local
 * recover workflow, waiting for its approval as on AWS. `stepops watch <target>`: the target's
 * schedule in the foreground, the table redrawn after each run, until Ctrl-C — a local monitor.
 */
import type { Command } from 'commander';
import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import { healthStoreFor } from '../../shared/drivers/health.ts';
import type { LocalEngine } from '../../shared/engine/index.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import type { HealthRunSummary } from '../../shared/health/contracts.ts';
import { describeProbe } from '../../shared/health/plan.ts';
import { emptyHealthState, type TargetHealthState } from '../../shared/health/state.ts';
import { EXIT, type Output, stdio } from '../output.ts';

/** The health workflow on the local engine, with the real handlers (quiet logs). */
async function healthEngine(): Promise<LocalEngine> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { createLocalHealthEngine } = await import('../../functions/index.ts');
  return createLocalHealthEngine();
}

function healthTarget(name: string): Target {
  const target = findTarget(name);
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
async function carryOutRecoveries(summary: HealthRunSummary, out: Output): Promise<void> {
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
   * their approval as on AWS (the CLI does; the demo carries them out itself).
   */
  recover?: boolean;
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
  const target = healthTarget(options.target);
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
  if (options.recover) await carryOutRecoveries(summary, out);
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
  const target = healthTarget(options.target);
  const engine = options.engine ?? (await healthEngine());
  const interval = scheduleIntervalMs(target.health!.schedule);
  while (!options.signal.aborted) {
    if (options.clear) out.out('\u001b[2J\u001b[H');
    out.out(
      `watching ${target.name}: ${target.health!.schedule} (every ${interval / 1000} s), Ctrl-C to stop`,
    );
    await runHealthOnce({
      target: target.name,
      output: out,
      engine,
      ...(options.recover !== undefined ? { recover: options.recover } : {}),
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
}

/**
 * Registers `stepops run health <target>` (under the `run` command) and `stepops watch <target>`.
 *
 * @example
 * registerHealth(program, runCommand);
 */
export function registerHealth(program: Command, run: Command): void {
  run
    .command('health <target>')
    .description("run the target's health probes once on the local engine and print their states")
    .action(async (targetName: string) => {
      process.exitCode = (await runHealthOnce({ target: targetName, recover: true })).exitCode;
    });
  program
    .command('watch <target>')
    .description("run the target's health checks on its schedule in the foreground, until Ctrl-C")
    .action(async (targetName: string) => {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await watchHealth({
          target: targetName,
          signal: controller.signal,
          clear: process.stdout.isTTY === true,
          recover: true,
        });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
