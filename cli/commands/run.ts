/**
 * `stepops run deploy <target> --ref R [--reason T]`: the deploy workflow, the very ASL deployed to
 * Step Functions, run on the embedded local engine with the Lambda handlers called in-process. The
 * drivers follow the target (`local` hosts → bash here; `ec2` hosts → SSM with the caller's AWS
 * credentials). Live progress per state, a timeline at the end; exit 0 succeeded, 1 failed, 2 bad
 * input (nothing started).
 */

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  ConfigError,
  formatIssue,
  isTargetPath,
  loadTargetFile,
  refuseUnfilledDeploy,
  resolveTargetFile,
} from '../../shared/config/load.ts';
import { findTarget, isRegistered, registerTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { Execution, LocalEngine, RunResult, TraceEvent } from '../../shared/engine/index.ts';
import { formatTimeline, readableCause } from '../../shared/engine/index.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { validateRef } from '../../shared/shell/script.ts';
import { describeHostSelection, EXIT, indent, type Output, stdio } from '../output.ts';
import { createProgress, formatDuration, type ProgressEvent, type ProgressStream } from '../progress.ts';
import { recordLocalRun } from '../runs/local.ts';
import { requester } from '../runs/source.ts';
import type { StageOptions, StageResources } from '../stage.ts';
import { registerRunBackup } from './backup.ts';
import { registerHealth } from './health.ts';
import { registerRunRecover } from './recover.ts';

/** The account and region of the Lambda ARNs a local run binds its handlers to. */
export const LOCAL_ARN_PREFIX = 'arn:aws:lambda:local:000000000000:function:stepops-';

/** Options of {@link runDeploy}. */
export interface DeployRunOptions {
  /** A target name (`targets/<name>.ts` or a registered target) or the path of a target file. */
  target: string;
  ref: string;
  reason?: string;
  requestedBy?: string;
  /** Where the run writes (default stdout and stderr). */
  output?: Output;
  /** Spinner progress (default: when stdout is a TTY). */
  interactive?: boolean;
  /** Called once the run has started (e.g. to abort it on Ctrl-C). */
  onStart?: (execution: Execution) => void;
  /** Called with every trace event of the run, after the progress display. */
  onEvent?: (event: TraceEvent) => void;
  /**
   * The stage whose DynamoDB lease and SNS topic an `ec2` target's run uses (`STEPOPS_STAGE` when
   * omitted), and for tests the environment and the AWS credential check.
   */
  stage?: string;
  stageOptions?: Omit<StageOptions, 'stage'>;
}

/** How a deploy run ended, for the caller (the CLI turns it into an exit code). */
export interface DeployRunReport {
  /** 0 succeeded, 1 failed run, 2 bad input (nothing started). */
  exitCode: 0 | 1 | 2;
  executionName?: string;
  /** The run's error name (`DeployFailedError`, `TargetLockedError`, …) or, for bad input, the error's name. */
  error?: string;
  /** Readable cause: what failed, where, and the tail of the output. */
  cause?: string;
  failedState?: string;
  host?: string;
  output?: unknown;
  transitions?: number;
  lambdaInvocations?: number;
  durationMs?: number;
}

/**
 * The local ARN of a deploy function.
 *
 * @example
 * localArn('notify') // 'arn:aws:lambda:local:000000000000:function:stepops-notify'
 */
export function localArn(functionName: string): string {
  return `${LOCAL_ARN_PREFIX}${functionName}`;
}

/**
 * Maps the engine's trace events to what the progress display shows. Iteration events are left
 * out; a catch without an error name gets the one the state failed with; the exit a caught state
 * reports after its catch (with no duration) is dropped.
 *
 * @example
 * const toProgress = progressMapper();
 * toProgress({ kind: 'state-entered', state: 'PlanDeploy', at: 0, elapsedMs: 0, depth: 0 }); // { kind: 'entered', state: 'PlanDeploy' }
 */
export function progressMapper(): (event: TraceEvent) => ProgressEvent | undefined {
  const failedWith = new Map<string, string>();
  return (event) => {
    const state = event.state;
    if (state === undefined) return undefined;
    const label = event.iteration !== undefined ? `${state} [${event.iteration}]` : state;
    const typed = event.stateType !== undefined ? { stateType: event.stateType } : {};
    const duration = event.durationMs !== undefined ? { durationMs: event.durationMs } : {};
    switch (event.kind) {
      case 'state-entered':
        failedWith.delete(label);
        return { kind: 'entered', state: label, ...typed };
      case 'state-exited':
        if (event.durationMs === undefined && failedWith.has(label)) return undefined;
        return { kind: 'left', state: label, ...typed, ...duration };
      case 'state-failed':
        failedWith.set(label, event.error ?? 'an error');
        return {
          kind: 'failed',
          state: label,
          ...typed,
          ...duration,
          ...(event.error ? { error: event.error } : {}),
        };
      case 'state-retried':
        return {
          kind: 'retry',
          state: label,
          ...(event.attempt !== undefined ? { attempt: event.attempt } : {}),
          ...(event.error ? { error: event.error } : {}),
        };
      case 'state-caught': {
        const error = event.error ?? failedWith.get(label);
        return {
          kind: 'caught',
          state: label,
          ...(error ? { error } : {}),
          ...(event.next ? { next: event.next } : {}),
        };
      }
      default:
        return undefined;
    }
  };
}

/** The run outcome the notify step returned (failed state, host), found in the trace. */
function outcomeOf(result: RunResult): { failedState?: string; host?: string; summary?: string } {
  for (const event of [...result.trace.events].reverse()) {
    if (event.kind !== 'state-exited' || typeof event.output !== 'object' || event.output === null) continue;
    const candidates = [event.output, ...Object.values(event.output as Record<string, unknown>)];
    for (const candidate of candidates) {
      if (typeof candidate !== 'object' || candidate === null) continue;
      const record = candidate as Record<string, unknown>;
      if (typeof record.outcome === 'string' && typeof record.summary === 'string') {
        return {
          summary: record.summary,
          ...(typeof record.failedState === 'string' ? { failedState: record.failedState } : {}),
          ...(typeof record.host === 'string' ? { host: record.host } : {}),
        };
      }
    }
  }
  return {};
}

/** The ids of the hosts the run resolved (`$.hosts.hosts`), from the last state that carried them. */
function resolvedHostsOf(result: RunResult): string[] {
  for (const event of [...result.trace.events].reverse()) {
    const hosts = (event.output as { hosts?: { hosts?: unknown } } | undefined)?.hosts?.hosts;
    if (event.kind === 'state-exited' && Array.isArray(hosts)) {
      return hosts.map((host) => String((host as { id?: unknown }).id));
    }
  }
  return [];
}

/** The error of a run stopped with `Execution.abort()`. */
export const ABORTED = 'States.Aborted';

/**
 * Runs a local workflow run with Ctrl-C and SIGTERM (kill, systemd, a CI runner's cancel) aborting
 * it: the run ends ABORTED through its own abort path, which releases its lease.
 *
 * @example
 * const report = await abortingOnSignals((onStart) => runDeploy({ target, ref, onStart }));
 */
export async function abortingOnSignals<T>(
  start: (onStart: (execution: Execution) => void) => Promise<T>,
): Promise<T> {
  let current: Execution | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stdio.err(`\nstepops: ${signal === 'SIGTERM' ? 'terminated' : 'interrupted'}: aborting the run`);
    current?.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await start((execution) => {
      current = execution;
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * An aborted run ends without passing through its release state: release the target's lease it
 * took (read from the trace), so that the next deploy is not locked out until the lease expires.
 */
export async function releaseAbortedLock(target: Target, result: RunResult, out: Output): Promise<void> {
  let lock: { key?: unknown; owner?: unknown } | undefined;
  for (const event of result.trace.events) {
    const candidate = (event.output as { lock?: { key?: unknown; owner?: unknown } } | undefined)?.lock;
    if (event.kind === 'state-exited' && candidate) lock = candidate;
  }
  if (typeof lock?.key !== 'string' || typeof lock.owner !== 'string') return;
  try {
    const { driversFor } = await import('../../shared/all-drivers.ts');
    await driversFor(target).leases.release(lock.key, lock.owner);
    out.out(
      `run aborted: released the lease ${lock.key}; a command already sent may still be running on the hosts`,
    );
  } catch (error) {
    out.err(
      `stepops: could not release the lease ${lock.key}: ${(error as Error).message} (it expires on its own)`,
    );
  }
}

/**
 * The target a run deploys: the file a path names (`./my-target.ts`), a target registered at run
 * time (fixtures, the demo's lab), or the file `targets/<name>.ts`. A file is loaded as `plan`
 * loads it, so a new file is seen without any other step, and registered so that the handlers,
 * called in-process, find the very same target.
 *
 * @example
 * const target = await resolveRunTarget('./targets/billing.ts');
 * @throws ConfigError for an invalid file, UnknownTargetError for an unknown name
 */
export async function resolveRunTarget(nameOrFile: string): Promise<Target> {
  const fromFile =
    isTargetPath(nameOrFile) || (!isRegistered(nameOrFile) && existsSync(resolveTargetFile(nameOrFile)));
  if (!fromFile) return findTarget(nameOrFile);
  const { target, input } = await loadTargetFile(nameOrFile);
  registerTarget(input);
  return findTarget(target.name);
}

/**
 * Checks everything a run needs before it starts: the target exists and is valid, it deploys, no
 * value its deploy uses is still `unfilled(…)`, the ref is a ref.
 *
 * @example
 * (await checkDeployInput({ target: 'demo', ref: 'v2' })).hosts // { type: 'local', directory: '.stepops/demo/host' }
 * @throws InvalidInputError or ConfigError (exit 2)
 */
export async function checkDeployInput(
  options: Pick<DeployRunOptions, 'target' | 'ref' | 'reason'>,
): Promise<Target> {
  const target = await resolveRunTarget(options.target);
  if (!target.deploy) throw new InvalidInputError(`target "${target.name}" has no deploy section`);
  refuseUnfilledDeploy(target);
  validateRef(options.ref);
  if (options.reason !== undefined && options.reason.length > 500) {
    throw new InvalidInputError('the reason is longer than 500 characters');
  }
  return target;
}

/** The deploy workflow on the local engine, with every function bound to its handler. */
async function deployEngine(): Promise<LocalEngine> {
  // The handlers log JSON through Powertools: quiet unless asked, set before they are imported.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const [{ createLocalEngine }, { deployWorkflow, DEPLOY_FUNCTIONS }, { handlersByArn }] = await Promise.all([
    import('../../shared/engine/index.ts'),
    import('../../workflows/deploy.ts'),
    import('../../functions/index.ts'),
  ]);
  const arns = Object.fromEntries(DEPLOY_FUNCTIONS.map((name) => [name, localArn(name)])) as Record<
    (typeof DEPLOY_FUNCTIONS)[number],
    string
  >;
  return createLocalEngine(deployWorkflow(arns), handlersByArn(arns), { stateMachineName: 'stepops-deploy' });
}

/**
 * Runs a deploy on the local engine, printing progress, the timeline and the outcome.
 *
 * @returns the outcome; bad input returns exit code 2 without starting anything
 * @example
 * const report = await runDeploy({ target: 'demo', ref: 'v2', reason: 'try it' });
 * process.exitCode = report.exitCode;
 */
export async function runDeploy(options: DeployRunOptions): Promise<DeployRunReport> {
  const out = options.output ?? stdio;
  let target: Target;
  try {
    target = await checkDeployInput(options);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const issue of error.issues) out.err(formatIssue(issue));
      return { exitCode: EXIT.invalidInput, error: error.name };
    }
    if (error instanceof InvalidInputError) {
      out.err(`stepops: ${error.message}`);
      return { exitCode: EXIT.invalidInput, error: error.name };
    }
    throw error;
  }

  // An ec2 target takes its stage's lease and alerts, as a deploy started on AWS does.
  let stage: StageResources | undefined;
  if (target.hosts.type === 'ec2') {
    try {
      const { stageResources } = await import('../stage.ts');
      stage = await stageResources(target.name, {
        ...options.stageOptions,
        ...(options.stage !== undefined ? { stage: options.stage } : {}),
      });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      out.err(`stepops: ${error.message}`);
      return { exitCode: EXIT.invalidInput, error: error.name };
    }
  }
  const restoreEnv = stage ? useStage(stage) : () => undefined;
  try {
    return await runOnEngine(target, options, out, stage);
  } finally {
    restoreEnv();
  }
}

/**
 * Points the drivers the in-process handlers create at the stage's table and topic, as the
 * stack's environment points the Lambdas' (the region is the stage's, as `AWS_REGION` is in a
 * Lambda); returns what puts the environment back.
 */
function useStage(stage: StageResources): () => void {
  const values: Record<string, string> = {
    STEPOPS_STATE_TABLE: stage.stateTable,
    STEPOPS_ALERTS_TOPIC_ARN: stage.alertsTopicArn,
    AWS_REGION: stage.region,
  };
  const before = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

async function runOnEngine(
  target: Target,
  options: DeployRunOptions,
  out: Output,
  stage: StageResources | undefined,
): Promise<DeployRunReport> {
  const engine = await deployEngine();
  out.out(
    `deploy ${target.name} at ${options.ref} on the local engine → ${describeHostSelection(target.hosts)}${options.reason ? ` (reason: ${options.reason})` : ''}`,
  );
  if (stage) {
    out.out(
      `  lease in DynamoDB ${stage.stateTable}, alerts to ${stage.alertsTopicArn}${stage.stage ? ` (stage ${stage.stage})` : ''}`,
    );
  }
  // Straight to the terminal when writing to stdout (a spinner needs the real stream), else lines.
  const stream: ProgressStream =
    out === stdio
      ? process.stdout
      : {
          write: (chunk: string | Uint8Array) => {
            out.out(String(chunk).replace(/\n$/, ''));
            return true;
          },
          isTTY: false,
        };
  const progress = createProgress({
    stream,
    ...(options.interactive !== undefined ? { interactive: options.interactive } : {}),
  });
  const input = {
    target: target.name,
    ref: options.ref,
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    requestedBy: options.requestedBy ?? requester('run'),
  };
  const toProgress = progressMapper();
  // Recorded under .stepops/runs, so that status, history, logs and follow read local runs too.
  const recording = recordLocalRun('deploy', input);
  const execution = engine.start(input, {
    executionName: recording.runId,
    onEvent: (event) => {
      recording.event(event);
      const shown = toProgress(event);
      if (shown) progress.event(shown);
      options.onEvent?.(event);
    },
  });
  options.onStart?.(execution);
  let result: RunResult;
  try {
    result = await execution.result;
  } finally {
    progress.stop();
  }
  recording.finish(result);
  if (recording.problem) out.err(`stepops: warning: ${recording.problem}`);

  out.out(`\ntimeline\n${indent(formatTimeline(result.trace))}`);
  if (result.error === ABORTED) await releaseAbortedLock(target, result, out);
  const report: DeployRunReport = {
    exitCode: result.status === 'SUCCEEDED' ? EXIT.ok : 1,
    executionName: result.executionName,
    transitions: result.trace.transitions,
    lambdaInvocations: result.trace.invocations.length,
    durationMs: result.trace.durationMs,
  };
  const took = formatDuration(result.trace.durationMs);
  if (result.status === 'SUCCEEDED') {
    report.output = result.output;
    out.out(`✔ deploy of ${target.name} at ${options.ref} succeeded in ${took}\n`);
    return report;
  }
  const outcome = outcomeOf(result);
  if (result.error !== undefined) report.error = result.error;
  const cause = readableCause(result.cause);
  if (cause) report.cause = cause;
  if (outcome.failedState) report.failedState = outcome.failedState;
  if (outcome.host) report.host = outcome.host;
  out.out(`✖ deploy of ${target.name} at ${options.ref} failed: ${result.error ?? 'error'} after ${took}`);
  // The cause usually names the state, the host and the output tail already; add what it lacks.
  if (cause) out.out(indent(cause, 2));
  if (outcome.failedState && !cause.includes(`failed state: ${outcome.failedState}`)) {
    out.out(`  failed state: ${outcome.failedState}`);
  }
  if (outcome.host && !cause.includes(outcome.host)) out.out(`  host: ${outcome.host}`);
  else if (!outcome.host && !/^host: /m.test(cause)) {
    const hosts = resolvedHostsOf(result);
    if (hosts.length > 0) out.out(`  host${hosts.length === 1 ? '' : 's'}: ${hosts.join(', ')}`);
  }
  out.out('');
  return report;
}

/**
 * Registers `stepops run deploy <target> --ref <ref> [--reason <text>]`.
 *
 * @example
 * register(program);
 * await program.parseAsync(['node', 'stepops', 'run', 'deploy', 'demo', '--ref', 'v2']);
 */
export function register(program: Command): void {
  const run = program
    .command('run')
    .description(
      'run a workflow on the local engine (local hosts here; ec2 hosts with your AWS credentials)',
    );
  run
    .command('deploy <target>')
    .description('deploy a ref to a target: plan, lock, hosts, batches with health gate, rollback, notify')
    .option('--ref <ref>', 'branch, tag or commit to deploy')
    .option('--reason <text>', 'why: shown in the notifications')
    .option(
      '--stage <stage>',
      'ec2 targets: the stage whose lease and alerts topic the run uses (default $STEPOPS_STAGE)',
    )
    .action(async (targetName: string, options: { ref?: string; reason?: string; stage?: string }) => {
      if (options.ref === undefined) {
        stdio.err('stepops: run deploy needs --ref <ref> (a branch, tag or commit)');
        process.exitCode = EXIT.invalidInput;
        return;
      }
      const ref = options.ref;
      const report = await abortingOnSignals((onStart) =>
        runDeploy({
          target: targetName,
          ref,
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
          ...(options.stage !== undefined ? { stage: options.stage } : {}),
          onStart,
        }),
      );
      process.exitCode = report.exitCode;
    });
  registerRunBackup(run);
  registerHealth(program, run);
  registerRunRecover(run);
  for (const command of run.commands) command.exitOverride();
  run.exitOverride();
}
