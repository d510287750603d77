import type { BackupRunPlan } from '../../shared/backup/contracts.ts';
import { planBackupStep } from '../../shared/backup/steps/plan-backup.ts';
import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { CatalogueEntry } from '../../shared/drivers/ports.ts';
import type { Execution, RunResult } from '../../shared/engine/index.ts';
import { formatTimeline, readableCause } from '../../shared/engine/index.ts';
import { EXIT, indent, type Output, stdio, UsageError } from '../output.ts';
import { formatDuration } from '../progress.ts';
import {
  ABORTED,
  type CredentialCheck,
  checkAwsCredentials,
  checkReason,
  inputErrorCode,
  resolveRunTarget,
  runOnLocalEngine,
} from '../runs/engine.ts';
import { requester, stageOf } from '../runs/source.ts';
import { formatBytes } from '../runs/style.ts';
import { abortOnInterrupt } from './follow.ts';
import {
  guarded,
  refuseLocalTarget,
  type StageRunDeps,
  type StageRunOptions,
  startOnStage,
} from './stage-run.ts';

/**
 * An aborted run ends without passing through notify-backup: release the job leases it took, so
 * that the next run of those jobs is not refused until they expire.
 */
async function releaseAbortedLeases(result: RunResult, out: Output): Promise<void> {
  const planned = result.trace.events.find((e) => e.kind === 'state-exited' && e.state === 'PlanBackup');
  const plan = (planned?.output as { plan?: BackupRunPlan } | undefined)?.plan;
  if (plan?.task !== 'backup' || plan.dryRun) return;
  const [{ findTarget }, { leaseStoreFor }, { releaseBackupLeases }] = await Promise.all([
    import('../../shared/config/registry.ts'),
    import('../../shared/drivers/leases.ts'),
    import('../../shared/backup/lease.ts'),
  ]);
  const jobs = plan.jobs.map((j) => j.name);
  const leases = leaseStoreFor(findTarget(plan.target));
  const note = await releaseBackupLeases(leases, plan.target, jobs, result.executionName);
  if (note) out.err(`stepops: ${note}`);
  else
    out.out(
      `run aborted: released the backup lease of ${jobs.join(', ')}; a copy already started goes on, and the next run records it by its tags`,
    );
}

/** Options of {@link runBackup}. */
export interface BackupRunOptions {
  target: string;
  backup?: string;
  reason?: string;
  /** Who started the run, as `history` shows it (default: the user, through `stepops backup`). */
  requestedBy?: string;
  dryRun?: boolean;
  task?: 'backup' | 'restore-test' | 'freshness';
  output?: Output;
  interactive?: boolean;
  /** Print the timeline at the end (default true). */
  timeline?: boolean;
  /** Called with the execution once it starts (to abort it on Ctrl-C). */
  onStart?: (execution: Execution) => void;
  /** How an ec2 target's AWS credentials are checked before it starts (tests replace it). */
  credentials?: CredentialCheck;
}

/** How a backup run ended. */
export interface BackupRunReport {
  exitCode: 0 | 1 | 2;
  executionName?: string;
  error?: string;
  cause?: string;
  output?: unknown;
  /** One line per job, as printed. */
  jobs: string[];
  result?: RunResult;
}

interface JobLine {
  backup?: string;
  outcome?: string;
  location?: string;
  detail?: string;
  prune?: {
    deleted?: { runId: string; reason: string }[];
    wouldDelete?: { runId: string; reason: string }[];
    kept?: number;
    adopted?: string[];
    untouchable?: unknown[];
  };
}

/** The job results of the run (`$.results` as the Map left it), from the trace. */
function jobResults(result: RunResult): JobLine[] {
  for (const event of [...result.trace.events].reverse()) {
    const results = (event.output as { results?: unknown } | undefined)?.results;
    if (event.kind === 'state-exited' && Array.isArray(results)) return results as JobLine[];
  }
  return [];
}

function describeJob(job: JobLine): string[] {
  const lines = [`${job.backup ?? '?'}: ${job.outcome ?? '?'}${job.location ? ` → ${job.location}` : ''}`];
  if (job.outcome === 'failed' && job.detail) lines.push(`  ${job.detail.split('\n').join('\n  ')}`);
  const prune = job.prune;
  if (prune) {
    for (const d of prune.deleted ?? []) lines.push(`  deleted ${d.runId}: ${d.reason}`);
    for (const d of prune.wouldDelete ?? []) lines.push(`  would delete ${d.runId}: ${d.reason}`);
    if ((prune.adopted ?? []).length > 0)
      lines.push(`  adopted from their tags: ${prune.adopted?.join(', ')}`);
    lines.push(
      `  kept ${prune.kept ?? 0}${(prune.untouchable ?? []).length ? `, left alone ${prune.untouchable?.length} not made by stepops` : ''}`,
    );
  }
  return lines;
}

/**
 * Runs the backup workflow on the local engine with live progress and a timeline.
 *
 * @example
 * const report = await runBackup({ target: 'demo', dryRun: true });
 */
export async function runBackup(options: BackupRunOptions): Promise<BackupRunReport> {
  const out = options.output ?? stdio;
  const task = options.task ?? 'backup';
  const requestedBy = options.requestedBy ?? requester('backup');
  let target: Target;
  let input: Record<string, unknown>;
  try {
    // A target file's path names the target the file holds.
    target = await resolveRunTarget(options.target);
    checkReason(options.reason);
    input = {
      target: target.name,
      ...(options.backup !== undefined ? { backup: options.backup } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      requestedBy,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(task !== 'backup' ? { task } : {}),
    };
    // The checks of the workflow's first step, before anything is recorded or started: a job the
    // target lacks, a restore test it does not declare, an unfilled value, a bad reason.
    planBackupStep({ input, runId: 'stepops-cli-check' }, { findTarget });
    await checkAwsCredentials(target, options.credentials);
  } catch (error) {
    const code = inputErrorCode(error, out);
    if (code === undefined) throw error;
    return { exitCode: code, error: (error as Error).name, jobs: [] };
  }
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { createLocalBackupEngine } = await import('../../functions/index.ts');
  const engine = createLocalBackupEngine();
  const what = task === 'backup' ? (options.dryRun ? 'backup (dry run)' : 'backup') : task;
  out.out(`${what} ${target.name}${options.backup ? ` ${options.backup}` : ''} on the local engine`);
  const result = await runOnLocalEngine({
    engine,
    input,
    workflow: 'backup',
    record: { target: target.name, ...(options.reason ? { reason: options.reason } : {}), requestedBy },
    out,
    interactive: options.interactive,
    onStart: options.onStart,
  });
  if (options.timeline !== false) out.out(`\ntimeline\n${indent(formatTimeline(result.trace))}`);
  if (result.error === ABORTED) await releaseAbortedLeases(result, out);
  const jobs = jobResults(result).flatMap(describeJob);
  if (jobs.length > 0) out.out(`\n${jobs.join('\n')}`);
  const took = formatDuration(result.trace.durationMs);
  if (result.status === 'SUCCEEDED') {
    out.out(`✔ ${what} of ${target.name} succeeded in ${took}\n`);
    return { exitCode: EXIT.ok, executionName: result.executionName, output: result.output, jobs, result };
  }
  const cause = readableCause(result.cause);
  out.out(`✖ ${what} of ${target.name} failed: ${result.error ?? 'error'} after ${took}`);
  if (cause) out.out(indent(cause, 2));
  const badInput = result.error === 'InvalidInputError' || result.error === 'UnknownTargetError';
  return {
    exitCode: badInput ? EXIT.invalidInput : 1,
    executionName: result.executionName,
    ...(result.error ? { error: result.error } : {}),
    ...(cause ? { cause } : {}),
    jobs,
    result,
  };
}

/**
 * An age for people: `3 h`, `2 d`.
 *
 * @example
 * formatAge(90 * 60_000) // '1.5 h'
 */
export function formatAge(ms: number): string {
  if (ms < 3_600_000) return `${Math.max(0, Math.round(ms / 60_000))} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 360_000) / 10} h`;
  return `${Math.round(ms / 8_640_000) / 10} d`;
}

/**
 * The catalogue of a target as a table.
 *
 * @example
 * formatCatalogue(entries, Date.now())
 */
export function formatCatalogue(entries: readonly CatalogueEntry[], now: number): string[] {
  const rows = entries.map((e) => [
    e.backup,
    e.outcome + (e.adopted ? ' (adopted)' : ''),
    formatAge(now - Date.parse(e.startedAt)),
    formatBytes(e.sizeBytes),
    e.restoreTest
      ? `${e.restoreTest.ok ? 'passed' : 'FAILED'} ${formatAge(now - Date.parse(e.restoreTest.at))} ago`
      : '-',
    e.runId,
    e.outcome === 'deleted' ? `(deleted) ${e.location}` : e.location,
  ]);
  const header = ['backup', 'outcome', 'age', 'size', 'restore test', 'run', 'where'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * `stepops backups <target>`: prints the catalogue (newest first), exit 0; 2 for an unknown target.
 *
 * @example
 * process.exitCode = await listBackups('demo', { all: false });
 */
export async function listBackups(
  targetName: string,
  options: { backup?: string; json?: boolean; all?: boolean } = {},
  out: Output = stdio,
): Promise<number> {
  let target: Target;
  try {
    target = await resolveRunTarget(targetName);
  } catch (error) {
    const code = inputErrorCode(error, out);
    if (code === undefined) throw error;
    return code;
  }
  if (options.backup !== undefined && !(target.backup ?? []).some((j) => j.name === options.backup)) {
    out.err(
      `stepops: target "${target.name}" has no backup "${options.backup}" (backups: ${(target.backup ?? []).map((j) => j.name).join(', ') || 'none'})`,
    );
    return EXIT.invalidInput;
  }
  const { backupCatalogueFor } = await import('../../shared/drivers/catalogue.ts');
  const entries = (await backupCatalogueFor().list(target.name, options.backup)).filter(
    (e) => options.all || e.outcome !== 'deleted',
  );
  if (options.json) {
    out.out(JSON.stringify(entries, null, 2));
    return EXIT.ok;
  }
  if (entries.length === 0) {
    out.out(`no backups of ${target.name} in the catalogue yet (run: stepops backup ${target.name})`);
    return EXIT.ok;
  }
  out.out(formatCatalogue(entries, Date.now()).join('\n'));
  return EXIT.ok;
}

/** Options of `stepops backup`. */
export interface BackupCommandOptions extends StageRunOptions {
  backup?: string;
  dryRun?: boolean;
  restoreTest?: boolean;
  freshness?: boolean;
}

/**
 * Starts (and follows) a backup run on a stage, or runs it on the local engine without one.
 *
 * @example
 * process.exitCode = await backup('docsai', { stage: 'prod', backup: 'database' });
 * @returns the exit code
 */
export async function backup(
  target: string,
  options: BackupCommandOptions,
  deps: StageRunDeps = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  if (options.restoreTest && options.freshness)
    throw new UsageError('choose one of --restore-test and --freshness');
  const task = options.restoreTest ? 'restore-test' : options.freshness ? 'freshness' : 'backup';
  const stage = stageOf(options, env);
  const requestedBy = deps.requestedBy ?? requester('backup', env);
  if (stage === undefined) {
    const report = await runBackup({
      target,
      task,
      requestedBy,
      output: out,
      ...(options.backup !== undefined ? { backup: options.backup } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(deps.interactive !== undefined ? { interactive: deps.interactive } : {}),
      onStart: abortOnInterrupt(deps.signal, out),
    });
    return report.exitCode;
  }
  return guarded(out, async () => {
    checkReason(options.reason);
    // A target file's path names the target it holds, as the stage knows it.
    const name = (await resolveRunTarget(target)).name;
    const input = {
      target: name,
      ...(options.backup !== undefined ? { backup: options.backup } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      requestedBy,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(task !== 'backup' ? { task } : {}),
    };
    refuseLocalTarget(name, 'backup');
    // The checks of the workflow's first step: the request, the target, its jobs, no unfilled value.
    planBackupStep({ input, runId: 'stepops-cli-check' }, { findTarget });
    const what = task === 'backup' ? (options.dryRun ? 'backup (dry run)' : 'backup') : task;
    return startOnStage(stage, { workflow: 'backup', target: name, input, what }, options, deps);
  });
}

/** Options of {@link runBackupDemo}. */
export interface BackupDemoOptions {
  /** The lab directory (`setupLab` made it; the demo target points at it). */
  lab: string;
  output?: Output;
  interactive?: boolean;
  /** The number of the demo's first backup step (default 4). */
  step?: number;
}

/** What the backup part of the demo observed. */
export interface BackupDemoReport {
  runs: BackupRunReport[];
  /** What did not go as expected. */
  problems: string[];
}

/**
 * The demo's backup part: three backups of the lab's data (an order added between them), so the
 * third prunes the oldest dump and snapshot; a restore test of the newest dump; the catalogue.
 *
 * @example
 * const { problems } = await runBackupDemo({ lab: '.stepops/demo' });
 */
export async function runBackupDemo(options: BackupDemoOptions): Promise<BackupDemoReport> {
  const out = options.output ?? stdio;
  const { addLabOrder, seedLabData } = await import('../../lab/backup.ts');
  const quiet = { ...(options.interactive !== undefined ? { interactive: options.interactive } : {}) };
  const report: BackupDemoReport = { runs: [], problems: [] };
  await seedLabData(options.lab);
  const step = options.step ?? 4;
  out.out(`${step}. Back up the lab data three times (expected: the third prunes the oldest copies)`);
  for (const item of ['', 'scone', 'muffin']) {
    if (item) await addLabOrder(options.lab, item);
    const run = await runBackup({
      target: 'demo',
      reason: 'demo: backup',
      requestedBy: 'stepops demo',
      output: out,
      timeline: report.runs.length === 0,
      ...quiet,
    });
    report.runs.push(run);
    if (run.exitCode !== 0)
      report.problems.push(`backup ${report.runs.length} failed (${run.error ?? run.exitCode})`);
  }
  const pruned = report.runs.at(-1)?.jobs.filter((line) => line.includes('deleted ')) ?? [];
  if (pruned.length < 2) report.problems.push(`the third backup pruned ${pruned.length} copies, expected 2`);
  out.out(
    `${step + 1}. Restore test of the newest dump (expected: restored into scratch, the orders are there)`,
  );
  const restore = await runBackup({
    target: 'demo',
    backup: 'data',
    task: 'restore-test',
    reason: 'demo: restore test',
    requestedBy: 'stepops demo',
    output: out,
    timeline: false,
    ...quiet,
  });
  report.runs.push(restore);
  if (restore.exitCode !== 0)
    report.problems.push(`the restore test failed (${restore.error ?? restore.exitCode})`);
  out.out('   the catalogue (stepops backups demo):');
  await listBackups('demo', {}, { out: (text) => out.out(indent(text, 5)), err: (text) => out.err(text) });
  out.out('');
  return report;
}
