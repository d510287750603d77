/**
 * `stepops deploy <target> --ref R [--stage S] [--reason T] [--no-follow]`: with a stage, starts
 * the stage's deploy state machine (`StartExecution` under an idempotent name, after the very
 * checks of the deploy API: target, ref, reason, running deploy, lease) and follows it with the
 * per-state progress of a local run, then the timeline; without one, runs the very same ASL on the
 * embedded local engine with the Lambda handlers called in-process (`local` hosts → bash here;
 * `ec2` hosts → SSM with the caller's AWS credentials, under the stage's lease named by
 * `STEPOPS_STAGE` or `STEPOPS_STATE_TABLE`). Exit 0 succeeded, 1 failed, 2 bad input (nothing
 * started).
 */
import { randomUUID } from 'node:crypto';
import { deployableTarget, startDeployExecution } from '../../shared/api/deploys.ts';
import { ApiError } from '../../shared/api/errors.ts';
import { validateIdempotencyKey } from '../../shared/api/execution.ts';
import type { LeaseReader } from '../../shared/api/leases.ts';
import { deployLeaseReader } from '../../shared/api/leases.ts';
import { parseDeployRequest } from '../../shared/api/request.ts';
import { refuseUnfilledDeploy } from '../../shared/config/load.ts';
import { findTarget } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { Execution, LocalEngine, RunResult, TraceEvent } from '../../shared/engine/index.ts';
import { formatTimeline, readableCause } from '../../shared/engine/index.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { validateRef } from '../../shared/shell/script.ts';
import { describeHostSelection, EXIT, indent, type Output, stdio, UsageError } from '../output.ts';
import { formatDuration } from '../progress.ts';
import { SfnRunSource, sfnClient, stageStateMachines } from '../runs/aws.ts';
import {
  ABORTED,
  checkReason,
  inputErrorCode,
  localArn,
  releaseAbortedLock,
  resolveRunTarget,
  runOnLocalEngine,
} from '../runs/engine.ts';
import type { SourceDeps } from '../runs/source.ts';
import { requester, stageOf } from '../runs/source.ts';
import { workflowNames } from '../runs/workflows.ts';
import type { StageOptions, StageResources } from '../stage.ts';
import { abortOnInterrupt, followStarted } from './follow.ts';

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
  checkReason(options.reason);
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
    const code = inputErrorCode(error, out);
    if (code === undefined) throw error;
    return { exitCode: code, error: (error as Error).name };
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
  const input = {
    target: target.name,
    ref: options.ref,
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    requestedBy: options.requestedBy ?? requester('deploy'),
  };
  const result = await runOnLocalEngine({
    engine,
    input,
    workflow: 'deploy',
    record: input,
    out,
    interactive: options.interactive,
    onEvent: options.onEvent,
    onStart: options.onStart,
  });

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

/** Options of {@link deploy}. */
export interface DeployCommandOptions {
  ref?: string;
  reason?: string;
  stage?: string;
  local?: boolean;
  /** `--no-follow` sets it to false. */
  follow?: boolean;
  /** Same key, same run: a repeated command answers the run the first one started. */
  idempotencyKey?: string;
}

/** What `deploy` needs besides the options. */
export interface DeployDeps extends SourceDeps {
  output?: Output;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  interactive?: boolean;
  /** The target's lease on the stage; read from `STEPOPS_STATE_TABLE` when set, else left to the workflow's lock step. */
  leases?: LeaseReader;
  /** Who starts it (default `$USER (stepops deploy)`). */
  requestedBy?: string;
}

/** The lease reader of a stage: its state table when `STEPOPS_STATE_TABLE` names it. */
async function stageLeases(env: NodeJS.ProcessEnv): Promise<LeaseReader> {
  const table = env.STEPOPS_STATE_TABLE;
  if (!table) {
    // Without the table's name the CLI cannot read the lease; the workflow's lock step refuses a locked target.
    return { holder: async () => undefined };
  }
  const { DynamoLeaseStore } = await import('../../shared/drivers/aws/dynamo-lease-store.ts');
  return deployLeaseReader(new DynamoLeaseStore(table));
}

const quietLogger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * Starts (and follows) a deploy on a stage, or runs it locally without one.
 *
 * @example
 * process.exitCode = await deploy('zmanim', { ref: 'v1.4.2', stage: 'prod' });
 * @returns the exit code
 */
export async function deploy(
  target: string,
  options: DeployCommandOptions,
  deps: DeployDeps = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const env = deps.env ?? process.env;
  if (options.ref === undefined) throw new UsageError('deploy needs --ref <ref> (a branch, tag or commit)');
  const stage = stageOf(options, env);
  const requestedBy = deps.requestedBy ?? requester('deploy', env);
  if (stage === undefined) {
    const report = await runDeploy({
      target,
      ref: options.ref,
      requestedBy,
      output: out,
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(deps.interactive !== undefined ? { interactive: deps.interactive } : {}),
      // A local run lives in this process: Ctrl-C (or SIGTERM) stops it and releases its lease.
      onStart: abortOnInterrupt(deps.signal, out),
    });
    return report.exitCode;
  }

  const client = deps.sfn ?? sfnClient(env);
  try {
    checkReason(options.reason);
    // A target file's path names the target it holds, as the stage knows it.
    const name = (await resolveRunTarget(target)).name;
    // The API's input checks, before anything is asked of AWS.
    const request = parseDeployRequest({
      target: name,
      ref: options.ref,
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
    });
    deployableTarget({ findTarget }, name);
    const key =
      options.idempotencyKey !== undefined ? validateIdempotencyKey(options.idempotencyKey) : randomUUID();
    const machines = await stageStateMachines(client, stage, workflowNames());
    const source = new SfnRunSource(client, stage, machines);
    const answer = await startDeployExecution(
      {
        sfn: client,
        stateMachineArn: source.stateMachineArn('deploy'),
        leases: deps.leases ?? (await stageLeases(env)),
        findTarget,
        logger: quietLogger,
      },
      request,
      { source: 'key', key: `cli:${key}`, requestedBy },
    );
    const body = JSON.parse(answer.body ?? '{}') as { id: string; consoleUrl: string; replayed?: boolean };
    out.out(
      `${body.replayed ? 'already started' : 'started'} deploy ${body.id} of ${name} at ${options.ref} on stage ${stage}\n  ${body.consoleUrl}`,
    );
    if (options.follow === false) {
      out.out(body.id);
      return EXIT.ok;
    }
    return await followStarted(source, body.id, stage, { ...deps, output: out, workflow: 'deploy' });
  } catch (error) {
    if (!(error instanceof ApiError)) {
      const code = inputErrorCode(error, out);
      if (code === undefined) throw error;
      return code;
    }
    out.err(`stepops: ${error.message}`);
    // Locked or already running: the request was fine, the moment was not.
    return error.status === 409 ? EXIT.unexpected : EXIT.invalidInput;
  }
}
