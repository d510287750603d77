/**
 * `stepops backup <target> …` and `stepops recover <target> --runbook N …`: with a stage, start the
 * stage's backup or recover state machine (`StartExecution` under an idempotent name, after the very
 * checks its first Lambda makes of the input, so that bad input starts nothing) and follow it with
 * the per-state progress of a local run, then the timeline; without a stage, run it on the local
 * engine (as `stepops run backup` and `stepops run recover`). Exit 0 succeeded, 1 failed, 2 bad input.
 */
import { randomUUID } from 'node:crypto';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { ApiError } from '../../shared/api/errors.ts';
import {
  consoleUrl,
  executionArn,
  executionName,
  validateIdempotencyKey,
} from '../../shared/api/execution.ts';
import { planBackupStep } from '../../shared/backup/steps/plan-backup.ts';
import { findTarget } from '../../shared/config/registry.ts';
import { InvalidInputError, isNamedError } from '../../shared/errors.ts';
import { planRecoveryStep } from '../../shared/recovery/run.ts';
import { EXIT, type Output, stdio, UsageError } from '../output.ts';
import { SfnRunSource, sfnClient, stageStateMachines } from '../runs/aws.ts';
import { requester, type SourceDeps, stageOf, WHERE_HELP } from '../runs/source.ts';
import { workflowNames } from '../runs/workflows.ts';
import { runBackup } from './backup.ts';
import { abortOnInterrupt, followStarted, withDetachOnInterrupt } from './follow.ts';
import { collect, parseParams, runRecover } from './recover.ts';

/** Where and how to start: the options both commands share. */
export interface StageRunOptions {
  stage?: string;
  local?: boolean;
  reason?: string;
  /** `--no-follow` sets it to false. */
  follow?: boolean;
  /** Same key, same run: a repeated command answers the run the first one started. */
  idempotencyKey?: string;
}

/** Options of `stepops backup`. */
export interface BackupCommandOptions extends StageRunOptions {
  backup?: string;
  dryRun?: boolean;
  restoreTest?: boolean;
  freshness?: boolean;
}

/** Options of `stepops recover`. */
export interface RecoverCommandOptions extends StageRunOptions {
  runbook?: string;
  param?: string[];
  yes?: boolean;
}

/** What the commands need besides the options. */
export interface StageRunDeps extends SourceDeps {
  output?: Output;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  interactive?: boolean;
  /** Who starts it (default `$USER (stepops <command>)`). */
  requestedBy?: string;
}

/** A run to start on a stage: the workflow, its target and the execution input. */
export interface StageStart {
  workflow: 'backup' | 'recover' | 'maintenance';
  target: string;
  input: Record<string, unknown>;
  /** For the started line: `backup`, `restore-test`, `recovery "restart-api"`. */
  what: string;
  /** A line printed once it started, given the run's name. */
  note?: (run: string) => string;
}

/** A target with `local` hosts runs on the local engine only. */
export function refuseLocalTarget(name: string, command: string): void {
  const target = findTarget(name);
  if (target.hosts.type === 'local') {
    throw new InvalidInputError(
      `target "${name}" declares local hosts: it runs on the local engine only (stepops ${command} ${name}, without --stage)`,
    );
  }
}

/**
 * Starts a run on a stage under the name the key gives, and follows it unless told not to.
 *
 * @returns the exit code
 */
export async function startOnStage(
  stage: string,
  start: StageStart,
  options: StageRunOptions,
  deps: StageRunDeps,
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  const key =
    options.idempotencyKey !== undefined ? validateIdempotencyKey(options.idempotencyKey) : randomUUID();
  const name = executionName(start.target, 'key', `cli:${start.workflow}:${key}`);
  const client = deps.sfn ?? sfnClient(env);
  const source = new SfnRunSource(client, stage, await stageStateMachines(client, stage, workflowNames()));
  const stateMachineArn = source.stateMachineArn(start.workflow);
  let existing = await source.describe(name, start.workflow);
  if (!existing) {
    try {
      await client.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(start.input) }),
      );
    } catch (error) {
      // Another command with the same key started it in between.
      if (!isNamedError(error, 'ExecutionAlreadyExists', ExecutionAlreadyExists)) throw error;
      existing = await source.describe(name, start.workflow);
    }
  }
  out.out(
    `${existing ? 'already started' : 'started'} ${start.what} ${name} of ${start.target} on stage ${stage}\n  ${consoleUrl(executionArn(stateMachineArn, name))}`,
  );
  if (start.note) out.out(start.note(name));
  if (options.follow === false) {
    out.out(name);
    return EXIT.ok;
  }
  return followStarted(source, name, stage, {
    ...deps,
    output: out,
    workflow: start.workflow,
    ...(existing ? { known: existing } : {}),
  });
}

/** Runs a start, answering bad input (the API's and the plan's checks) with exit 2 and nothing started. */
export async function guarded(out: Output, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ApiError || error instanceof InvalidInputError) {
      out.err(`stepops: ${error.message}`);
      return EXIT.invalidInput;
    }
    throw error;
  }
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
    const input = {
      target,
      ...(options.backup !== undefined ? { backup: options.backup } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      requestedBy,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(task !== 'backup' ? { task } : {}),
    };
    refuseLocalTarget(target, 'backup');
    // The checks of the workflow's first step: the request, the target, its jobs, no unfilled value.
    planBackupStep({ input, runId: 'stepops-cli-check' }, { findTarget });
    const what = task === 'backup' ? (options.dryRun ? 'backup (dry run)' : 'backup') : task;
    return startOnStage(stage, { workflow: 'backup', target, input, what }, options, deps);
  });
}

/**
 * Starts (and follows) a recovery run on a stage, or runs it on the local engine without one.
 * On a stage, a run that needs approval waits for `stepops approve <run>` (or the alert's link).
 *
 * @example
 * process.exitCode = await recover('zmanim', { runbook: 'restart-api', reason: 'API down', stage: 'prod' });
 * @returns the exit code
 */
export async function recover(
  target: string,
  options: RecoverCommandOptions,
  deps: StageRunDeps = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  if (!options.runbook)
    throw new UsageError('recover needs --runbook <name> (see "stepops plan recover <target>")');
  const stage = stageOf(options, env);
  const requestedBy = deps.requestedBy ?? requester('recover', env);
  if (stage === undefined) {
    const report = await runRecover({
      target,
      runbook: options.runbook,
      params: options.param ?? [],
      requestedBy,
      output: out,
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(options.yes ? { yes: true } : {}),
      ...(deps.interactive !== undefined ? { interactive: deps.interactive } : {}),
      onStart: abortOnInterrupt(deps.signal, out),
    });
    return report.exitCode;
  }
  return guarded(out, async () => {
    if (options.yes) {
      throw new InvalidInputError(
        '--yes answers a local run only: a run on a stage is approved with stepops approve <run> (or the link in its alert)',
      );
    }
    refuseLocalTarget(target, 'recover');
    const runbook = options.runbook as string;
    const params = parseParams(findTarget(target), runbook, options.param ?? []);
    const input = {
      target,
      runbook,
      reason: options.reason ?? 'run from the stepops CLI',
      requestedBy,
      ...(Object.keys(params).length > 0 ? { params } : {}),
    };
    const plan = planRecoveryStep({ input, runId: 'stepops-cli-check' }, { findTarget });
    const note = plan.approval.required
      ? (run: string) =>
          `  it waits for approval (${plan.approval.why}): answer with stepops approve ${run} or stepops reject ${run} (STEPOPS_STATE_TABLE set to the stage's table), or the link in its alert`
      : undefined;
    return startOnStage(
      stage,
      {
        workflow: 'recover',
        target,
        input,
        what: `recovery "${runbook}"`,
        ...(note ? { note } : {}),
      },
      options,
      deps,
    );
  });
}

/**
 * Adds `backup` and `recover` to the program.
 *
 * @example
 * register(program);
 */
export function register(program: Command): void {
  const stageOptions = (command: Command) =>
    command
      .option('--reason <text>', 'why: shown in the history and the notifications')
      .option('--stage <stage>', 'the stage on AWS (also STEPOPS_STAGE); without one, the local engine')
      .option('--local', WHERE_HELP.local)
      .option('--no-follow', 'on a stage: print the run id once started, do not follow it')
      .option('--idempotency-key <key>', 'on a stage: the same key starts the run once');
  stageOptions(
    program
      .command('backup <target>')
      .description(
        'back up a target (or one job), or test a restore, or check freshness: on a stage through its state machine, followed live; else on the local engine',
      )
      .option('--backup <name>', 'only this backup of the target')
      .option('--dry-run', 'take and delete nothing: show what the prune would delete')
      .option('--restore-test', 'restore the newest good copy into scratch and run its check')
      .option('--freshness', "alert when a backup's newest good copy is older than its RPO"),
  ).action(async (target: string, options: BackupCommandOptions) => {
    process.exitCode = await withDetachOnInterrupt((signal) =>
      backup(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
    );
  });
  stageOptions(
    program
      .command('recover <target>')
      .description(
        'run a recovery runbook: on a stage through its state machine (approve with stepops approve), followed live; else on the local engine',
      )
      .option('--runbook <name>', 'the runbook to run (see "stepops plan recover <target>")')
      .option('--param <name=value>', 'a runbook parameter (repeatable)', collect, [])
      .option('--yes', 'local runs: approve up front (no prompt)'),
  ).action(async (target: string, options: RecoverCommandOptions) => {
    process.exitCode = await withDetachOnInterrupt((signal) =>
      recover(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
    );
  });
}
