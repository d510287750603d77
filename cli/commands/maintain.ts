import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { Execution } from '../../shared/engine/index.ts';
import { formatTimeline, readableCause } from '../../shared/engine/index.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { maintenanceJob } from '../../shared/maintenance/runbook.ts';
import { EXIT, indent, type Output, stdio } from '../output.ts';
import { formatDuration } from '../progress.ts';
import {
  ABORTED,
  inputErrorCode,
  localArn,
  releaseAbortedLock,
  resolveRunTarget,
  runOnLocalEngine,
  targetDrivers,
} from '../runs/engine.ts';
import { requester, stageOf } from '../runs/source.ts';
import { abortOnInterrupt } from './follow.ts';
import {
  guarded,
  refuseLocalTarget,
  type StageRunDeps,
  type StageRunOptions,
  startOnStage,
} from './stage-run.ts';

/** Options of {@link runMaintain}. */
export interface MaintainRunOptions {
  /** A target name or a target file's path. */
  target: string;
  /** One job; every job of the target, in order, when omitted. */
  job?: string;
  reason?: string;
  requestedBy?: string;
  output?: Output;
  interactive?: boolean;
  onStart?: (execution: Execution) => void;
}

/** How the maintenance runs ended. */
export interface MaintainRunReport {
  exitCode: 0 | 1 | 2;
  /** Each job's run: its name, how it ended and its run id. */
  runs: { job: string; outcome: 'succeeded' | 'skipped' | 'failed'; executionName: string; error?: string }[];
}

/**
 * The jobs a command runs: the one named, or every job of the target.
 *
 * @throws InvalidInputError when the target has no maintenance job, or none by that name
 * @example
 * jobsToRun(findTarget('datizmo')) // ['certificates', 'security-updates']
 */
export function jobsToRun(target: Target, job?: string): string[] {
  if (job !== undefined) {
    maintenanceJob(target, job);
    return [job];
  }
  const jobs = Object.keys(target.maintenance ?? {});
  if (jobs.length === 0) {
    throw new InvalidInputError(
      `target "${target.name}" declares no maintenance job (its "maintenance" section)`,
    );
  }
  return jobs;
}

/** The maintenance workflow on the local engine with the drivers each target declares. */
async function maintainEngine() {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const [
    { createLocalEngine },
    { maintainWorkflow, MAINTAIN_FUNCTIONS },
    { maintenanceTaskHandlers },
    { recoveryDepsWith },
    drivers,
  ] = await Promise.all([
    import('../../shared/engine/index.ts'),
    import('../../workflows/maintain.ts'),
    import('../../shared/maintenance/handlers.ts'),
    import('../../shared/recovery/deps.ts'),
    import('../../shared/all-drivers.ts'),
  ]);
  const deps = recoveryDepsWith(targetDrivers(drivers));
  const tasks = maintenanceTaskHandlers(deps);
  const arns = Object.fromEntries(MAINTAIN_FUNCTIONS.map((name) => [name, localArn(name)])) as Record<
    (typeof MAINTAIN_FUNCTIONS)[number],
    string
  >;
  return createLocalEngine(
    maintainWorkflow(arns),
    Object.fromEntries(MAINTAIN_FUNCTIONS.map((name) => [arns[name], tasks[name]])),
    { stateMachineName: 'stepops-maintenance' },
  );
}

/**
 * Runs a target's maintenance jobs on the local engine, one after the other (the first failure
 * stops the others): the plan, live progress, the timeline and how each ended.
 *
 * @example
 * const report = await runMaintain({ target: 'demo', job: 'disk-hygiene' });
 * process.exitCode = report.exitCode;
 */
export async function runMaintain(options: MaintainRunOptions): Promise<MaintainRunReport> {
  const out = options.output ?? stdio;
  let target: Target;
  let jobs: string[];
  try {
    target = await resolveRunTarget(options.target);
    jobs = jobsToRun(target, options.job);
  } catch (error) {
    const code = inputErrorCode(error, out);
    if (code === undefined) throw error;
    return { exitCode: code, runs: [] };
  }
  const engine = await maintainEngine();
  const reason = options.reason ?? 'run from the stepops CLI';
  const requestedBy = options.requestedBy ?? requester('maintain');
  const report: MaintainRunReport = { exitCode: EXIT.ok, runs: [] };
  for (const job of jobs) {
    out.out(`maintain ${target.name}: job "${job}" on the local engine`);
    const result = await runOnLocalEngine({
      engine,
      input: { target: target.name, job, reason, requestedBy, trigger: 'manual' },
      workflow: 'maintenance',
      record: { target: target.name, reason, requestedBy },
      out,
      interactive: options.interactive,
      onEvent: (event, progress) => {
        if (event.kind === 'state-exited' && event.state === 'PlanMaintenance') {
          const planText = (event.output as { plan?: { runbook?: { planText?: string } } } | undefined)?.plan
            ?.runbook?.planText;
          if (planText) out.out(`\nplan\n${indent(planText)}\n`);
        }
        if (event.kind === 'state-exited' && event.state === 'RunSteps') {
          const steps = (event.output as { stepResults?: { outputTail?: string }[] } | undefined)
            ?.stepResults;
          for (const tail of steps?.map((s) => s.outputTail).filter(Boolean) ?? []) {
            progress.stop();
            out.out(`\noutput (last host)\n${indent(String(tail))}\n`);
          }
        }
      },
      onStart: options.onStart,
    });
    if (result.error === ABORTED) await releaseAbortedLock(target, result, out);
    out.out(`\ntimeline\n${indent(formatTimeline(result.trace))}`);
    const took = formatDuration(result.trace.durationMs);
    const ended = result.output as { outcome?: string; summary?: string } | undefined;
    if (result.status === 'SUCCEEDED') {
      const skipped = ended?.outcome === 'skipped';
      out.out(`${skipped ? '»' : '✔'} ${ended?.summary ?? `maintenance "${job}" succeeded`} (${took})\n`);
      report.runs.push({
        job,
        outcome: skipped ? 'skipped' : 'succeeded',
        executionName: result.executionName,
      });
      continue;
    }
    const cause = readableCause(result.cause);
    out.out(`✖ maintenance "${job}" of ${target.name} failed: ${result.error ?? 'error'} after ${took}`);
    if (cause) out.out(indent(cause, 2));
    report.runs.push({
      job,
      outcome: 'failed',
      executionName: result.executionName,
      ...(result.error ? { error: result.error } : {}),
    });
    report.exitCode = result.error === 'InvalidInputError' ? EXIT.invalidInput : EXIT.unexpected;
    const left = jobs.slice(jobs.indexOf(job) + 1);
    if (left.length > 0) out.out(`not run: ${left.join(', ')}`);
    break;
  }
  return report;
}

/** Options of `stepops maintain`. */
export interface MaintainCommandOptions extends StageRunOptions {
  job?: string;
}

/**
 * Starts (and follows) maintenance runs on a stage, or runs them on the local engine without one.
 *
 * @example
 * process.exitCode = await maintain('datizmo', { job: 'certificates', stage: 'prod' });
 * @returns the exit code
 */
export async function maintain(
  target: string,
  options: MaintainCommandOptions,
  deps: StageRunDeps = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  const stage = stageOf(options, env);
  const requestedBy = deps.requestedBy ?? requester('maintain', env);
  if (stage === undefined) {
    const report = await runMaintain({
      target,
      requestedBy,
      output: out,
      ...(options.job !== undefined ? { job: options.job } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(deps.interactive !== undefined ? { interactive: deps.interactive } : {}),
      onStart: abortOnInterrupt(deps.signal, out),
    });
    return report.exitCode;
  }
  return guarded(out, async () => {
    refuseLocalTarget(target, 'maintain');
    const jobs = jobsToRun(findTarget(target), options.job);
    if (jobs.length > 1 && options.idempotencyKey !== undefined) {
      throw new InvalidInputError('--idempotency-key names one run: give it with --job');
    }
    const { planMaintenanceStep } = await import('../../shared/maintenance/run.ts');
    const inputs = jobs.map((job) => {
      const input = {
        target,
        job,
        reason: options.reason ?? 'run from the stepops CLI',
        requestedBy,
        trigger: 'manual',
      };
      // The checks of the workflow's first step, for every job, before any starts.
      planMaintenanceStep({ input, runId: 'stepops-cli-check' }, { findTarget });
      return input;
    });
    let code: number = EXIT.ok;
    for (const input of inputs) {
      code = await startOnStage(
        stage,
        { workflow: 'maintenance', target, input, what: `maintenance "${input.job}"` },
        options,
        deps,
      );
      if (code !== EXIT.ok) break;
    }
    return code;
  });
}
