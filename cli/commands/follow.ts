import { type Output, stdio } from '../output.ts';
import type { SfnRunSource } from '../runs/aws.ts';
import { followRun } from '../runs/follow.ts';
import { type RunSummary, UnknownRunError } from '../runs/model.ts';
import { runSourceFor, type SourceDeps, stageOf, type WhereOptions } from '../runs/source.ts';

/** Options of {@link follow}. */
export interface FollowCommandOptions extends WhereOptions {
  json?: boolean;
}

/** What `follow` needs besides the options (tests replace them). */
export interface FollowDeps extends SourceDeps {
  output?: Output;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  interactive?: boolean;
  /** The clock (for the lines that show a quiet run is alive). */
  now?: () => number;
}

/** The options of {@link followRun} that the commands' dependencies set, when they set them. */
function followDeps(deps: FollowDeps) {
  return {
    ...(deps.interactive !== undefined ? { interactive: deps.interactive } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  };
}

/**
 * Follows a run a command has just started on a stage to its end: progress, then the timeline.
 *
 * @example
 * return followStarted(source, 'zmanim-3c1f0a9b8e7d6c5b', 'prod', { output });
 * @returns the exit code: the run's (0, 1, 2) or 130 when detached
 */
export async function followStarted(
  source: SfnRunSource,
  runId: string,
  stage: string,
  deps: FollowDeps & { workflow?: string; known?: RunSummary },
): Promise<number> {
  const run = deps.known ?? (await source.describe(runId, deps.workflow));
  if (!run) throw new Error(`the execution ${runId} was started but cannot be described`);
  const result = await followRun(source, run, {
    output: deps.output ?? stdio,
    attachAgain: `stepops follow ${runId} --stage ${stage}`,
    ...followDeps(deps),
  });
  return result.exitCode;
}

/**
 * Follows a run to its end.
 *
 * @example
 * process.exitCode = await follow('zmanim-3c1f0a9b8e7d6c5b', { stage: 'prod' });
 * @returns the exit code: the run's (0, 1, 2) or 130 when detached
 */
export async function follow(
  runId: string,
  options: FollowCommandOptions,
  deps: FollowDeps = {},
): Promise<number> {
  const out = deps.output ?? stdio;
  const source = await runSourceFor(options, deps);
  const run = await source.describe(runId);
  if (!run) {
    throw new UnknownRunError(
      `no run "${runId}" ${source.where === 'local' ? 'recorded locally (name a stage with --stage)' : `on stage ${source.where}`}`,
    );
  }
  const stage = stageOf(options, deps.env);
  if (!options.json) {
    out.out(
      `following ${run.workflow} ${run.runId}${run.target ? ` of ${run.target}` : ''}${run.ref ? ` at ${run.ref}` : ''} (${stage ? `stage ${stage}` : 'local'})`,
    );
  }
  const result = await followRun(source, run, {
    output: out,
    print: !options.json,
    attachAgain: `stepops follow ${run.runId}${stage ? ` --stage ${stage}` : ''}`,
    ...followDeps(deps),
  });
  if (options.json)
    out.out(
      JSON.stringify({ run: result.run, detached: result.detached, steps: result.trace.steps }, null, 2),
    );
  return result.exitCode;
}

/**
 * Runs `work` with Ctrl-C (and SIGTERM) turned into an abort of its signal, so that following
 * detaches instead of killing the process mid-line.
 *
 * @example
 * await withDetachOnInterrupt((signal) => follow(id, options, { signal }));
 */
export async function withDetachOnInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // The signal's name is the abort reason, for the line that says what stopped the run.
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * For a run on the local engine, which lives in this process: the `onStart` that aborts it (and so
 * releases its lease) when the signal of {@link withDetachOnInterrupt} fires (Ctrl-C, or SIGTERM
 * from kill, systemd or a CI runner's cancel).
 *
 * @example
 * await runDeploy({ target, ref, onStart: abortOnInterrupt(signal, out) });
 */
export function abortOnInterrupt(
  signal: AbortSignal | undefined,
  out: Output,
): (execution: { abort(): void }) => void {
  return (execution) =>
    signal?.addEventListener(
      'abort',
      () => {
        out.err(`\nstepops: ${signal.reason === 'SIGTERM' ? 'terminated' : 'interrupted'}: aborting the run`);
        execution.abort();
      },
      { once: true },
    );
}
