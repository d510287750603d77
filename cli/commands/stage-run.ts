/**
 * Starting a run on a stage, shared by `stepops backup`, `recover` and `health` with `--stage`:
 * `StartExecution` of the stage's state machine under an idempotent name (the key of the command),
 * after the checks its first Lambda makes of the input, so that bad input starts nothing; then the
 * run is followed with the per-state progress of a local run, and its timeline.
 */
import { randomUUID } from 'node:crypto';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ApiError } from '../../shared/api/errors.ts';
import {
  consoleUrl,
  executionArn,
  executionName,
  validateIdempotencyKey,
} from '../../shared/api/execution.ts';
import { findTarget } from '../../shared/config/registry.ts';
import { InvalidInputError, isNamedError } from '../../shared/errors.ts';
import { EXIT, type Output, stdio } from '../output.ts';
import { SfnRunSource, sfnClient, stageStateMachines } from '../runs/aws.ts';
import { inputErrorCode } from '../runs/engine.ts';
import type { SourceDeps } from '../runs/source.ts';
import { workflowNames } from '../runs/workflows.ts';
import { followStarted } from './follow.ts';

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

/**
 * A target with `local` hosts runs on the local engine only.
 *
 * @example
 * refuseLocalTarget('demo', 'backup'); // throws: target "demo" declares local hosts …
 * @throws InvalidInputError for a local target, UnknownTargetError for an unknown one
 */
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
 * @example
 * return startOnStage('prod', { workflow: 'backup', target: 'docsai', input, what: 'backup' }, options, deps);
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

/**
 * Runs a start, answering bad input (the API's and the plan's checks) with exit 2 and nothing started.
 *
 * @example
 * return guarded(out, async () => startOnStage(stage, start, options, deps));
 */
export async function guarded(out: Output, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ApiError) {
      out.err(`stepops: ${error.message}`);
      return EXIT.invalidInput;
    }
    const code = inputErrorCode(error, out);
    if (code === undefined) throw error;
    return code;
  }
}
