/**
 * `stepops deploy <target> --ref R [--stage S] [--reason T] [--no-follow]`: with a stage, starts
 * the stage's deploy state machine (`StartExecution` under an idempotent name, after the very
 * checks of the deploy API: target, ref, reason, running deploy, lease) and follows it with the
 * per-state progress of a local run, then the timeline; without one, runs it on the local engine
 * (as `stepops run deploy`). Exit 0 succeeded, 1 failed, 2 bad input (nothing started).
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { deployableTarget, startDeployExecution } from '../../shared/api/deploys.ts';
import { ApiError } from '../../shared/api/errors.ts';
import { validateIdempotencyKey } from '../../shared/api/execution.ts';
import type { LeaseReader } from '../../shared/api/leases.ts';
import { deployLeaseReader } from '../../shared/api/leases.ts';
import { parseDeployRequest } from '../../shared/api/request.ts';
import { findTarget } from '../../shared/config/registry.ts';
import { EXIT, type Output, stdio, UsageError } from '../output.ts';
import { SfnRunSource, sfnClient, stageStateMachines } from '../runs/aws.ts';
import type { SourceDeps } from '../runs/source.ts';
import { requester, stageOf, WHERE_HELP } from '../runs/source.ts';
import { workflowNames } from '../runs/workflows.ts';
import { abortOnInterrupt, followStarted, withDetachOnInterrupt } from './follow.ts';
import { runDeploy } from './run.ts';

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
      // A local run lives in this process: Ctrl-C stops it (and releases its lease), as `run` does.
      onStart: abortOnInterrupt(deps.signal, out),
    });
    return report.exitCode;
  }

  const client = deps.sfn ?? sfnClient(env);
  try {
    // The API's input checks, before anything is asked of AWS.
    const request = parseDeployRequest({
      target,
      ref: options.ref,
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
    });
    deployableTarget({ findTarget }, target);
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
      `${body.replayed ? 'already started' : 'started'} deploy ${body.id} of ${target} at ${options.ref} on stage ${stage}\n  ${body.consoleUrl}`,
    );
    if (options.follow === false) {
      out.out(body.id);
      return EXIT.ok;
    }
    return await followStarted(source, body.id, stage, { ...deps, output: out, workflow: 'deploy' });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    out.err(`stepops: ${error.message}`);
    // Locked or already running: the request was fine, the moment was not.
    return error.status === 409 ? EXIT.unexpected : EXIT.invalidInput;
  }
}

/**
 * Adds `deploy` to the program.
 *
 * @example
 * register(program);
 */
export function register(program: Command): void {
  program
    .command('deploy <target>')
    .description(
      'deploy a ref: on a stage (--stage) through its state machine, followed live; else on the local engine',
    )
    .option('--ref <ref>', 'branch, tag or commit to deploy')
    .option('--reason <text>', 'why: shown in the history and the notifications')
    .option('--stage <stage>', 'the stage on AWS (also STEPOPS_STAGE); without one, the local engine')
    .option('--local', WHERE_HELP.local)
    .option('--no-follow', 'print the run id once started, do not follow it')
    .option('--idempotency-key <key>', 'the same key starts the run once (a repeated command answers it)')
    .action(async (target: string, options: DeployCommandOptions) => {
      process.exitCode = await withDetachOnInterrupt((signal) =>
        deploy(target, options, { signal, interactive: Boolean(process.stdout.isTTY) }),
      );
    });
}
